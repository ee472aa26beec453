"""/api/schema/ is valid OpenAPI 3 and /api/docs/ is served without any CDN."""

import re

import pytest
from openapi_spec_validator import validate

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def schema(django_db_blocker):
    from django.test import Client

    with django_db_blocker.unblock():
        response = Client().get("/api/schema/", {"format": "json"})
    assert response.status_code == 200
    return response.json()


def test_the_schema_validates_as_openapi_3(schema):
    assert schema["openapi"].startswith("3.")
    validate(schema)


# The paths, methods and fields the schema must name are the contract tests' (tests/contract/).


def test_lists_are_described_paginated_and_creates_as_201(schema):
    patients = schema["paths"]["/api/v1/patients/"]
    listed = patients["get"]["responses"]["200"]["content"]["application/json"]["schema"]["$ref"]
    page = schema["components"]["schemas"][listed.rsplit("/", 1)[1]]
    assert {"count", "next", "previous", "results"} <= set(page["properties"])
    assert "201" in patients["post"]["responses"]
    assert "page_size" in {p["name"] for p in patients["get"]["parameters"]}
    assert "search" in {p["name"] for p in patients["get"]["parameters"]}


def test_errors_are_described_in_the_api_error_shape(schema):
    error = schema["components"]["schemas"]["Error"]
    assert {"code", "detail", "fields"} <= set(error["properties"])
    diary = schema["paths"]["/api/v1/patients/{id}/diary/"]
    assert {"400", "401", "403", "404"} <= set(diary["post"]["responses"])


def test_token_and_session_auth_are_described(schema):
    schemes = schema["components"]["securitySchemes"]
    assert schemes["tokenAuth"]["in"] == "header"
    assert "cookieAuth" in schemes


def test_the_docs_page_uses_only_local_static_files(client):
    response = client.get("/api/docs/")
    assert response.status_code == 200
    html = response.content.decode()
    for cdn in ("cdn", "jsdelivr", "unpkg", "cloudflare", "googleapis"):
        assert cdn not in html.lower()
    links = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert links
    assert not [link for link in links if link.startswith(("http:", "https:", "//"))]
    assets = re.findall(r'(?:src|href)="(/static/[^"]+)"', html)
    assert any(a.endswith("swagger-ui-bundle.js") for a in assets)
    assert any(a.endswith(".css") for a in assets)
    for asset in assets:
        served = client.get(asset)
        assert served.status_code == 200, asset
        body = b"".join(served.streaming_content) if served.streaming else served.content
        assert len(body) > 100


def test_the_docs_point_at_the_local_schema(client):
    html = client.get("/api/docs/").content.decode()
    assert "/api/schema/" in html
