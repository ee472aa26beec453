"""Browser libraries come from npm through staticfiles, and every page links them locally."""

import pytest
from django.contrib.staticfiles import finders


@pytest.mark.parametrize(
    "asset",
    [
        "vendor/htmx/htmx.min.js",
        "vendor/chart.js/chart.umd.min.js",
        "vendor/chartjs-plugin-annotation/chartjs-plugin-annotation.min.js",
        "web/app.css",
        "web/response-chart.js",
        "web/treatment-total.js",
    ],
)
def test_each_asset_the_templates_use_is_found_by_staticfiles(asset):
    assert finders.find(asset), f"{asset} missing: run `npm ci` (make does)"


def test_pages_load_scripts_from_this_server_never_a_cdn(client, db):
    html = client.get("/login/").content.decode()
    assert 'src="/static/vendor/htmx/htmx.min.js"' in html
    assert "http://" not in html and "https://" not in html
