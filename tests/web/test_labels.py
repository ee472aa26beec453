"""Every form control on every page has a label, and every action is a real button or link."""

from datetime import UTC, date, datetime, timedelta
from html.parser import HTMLParser

import pytest
import time_machine

from scheduling.models import Session
from tests.factories import CourseFactory, PatientFactory, ReviewFlagFactory, SessionFactory

pytestmark = pytest.mark.django_db

NOW = datetime(2027, 3, 1, 14, 0, tzinfo=UTC)


class Controls(HTMLParser):
    def __init__(self):
        super().__init__()
        self.controls: list[dict] = []
        self.label_for: set[str] = set()
        self.label_depth = 0
        self.clickables_without_role: list[str] = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "label":
            self.label_depth += 1
            if attrs.get("for"):
                self.label_for.add(attrs["for"])
        if tag in ("input", "select", "textarea"):
            if attrs.get("type") in ("hidden", "submit", "button"):
                return
            self.controls.append({**attrs, "_tag": tag, "_wrapped": self.label_depth > 0})
        if "onclick" in attrs and tag not in ("button", "a"):
            self.clickables_without_role.append(tag)

    def handle_endtag(self, tag):
        if tag == "label":
            self.label_depth -= 1


def _unlabelled(html: str) -> list[dict]:
    parser = Controls()
    parser.feed(html)
    assert not parser.clickables_without_role
    return [
        c
        for c in parser.controls
        if not (c["_wrapped"] or c.get("id") in parser.label_for or c.get("aria-label") or c.get("aria-labelledby"))
    ]


def test_every_form_control_on_every_page_is_labelled(desk, doctor, clinician, location):
    with time_machine.travel(NOW, tick=False):
        desk.force_login(desk.user)
        doctor.force_login(doctor.user)
        patient = PatientFactory(family_name="Label")
        course = CourseFactory(patient=patient)
        start = NOW + timedelta(hours=1)
        booked = SessionFactory(patient=patient, course=course, clinician=clinician, location=location, start=start)
        here = SessionFactory(
            clinician=clinician, location=location, start=NOW + timedelta(hours=2), status=Session.Status.CHECKED_IN
        )
        ReviewFlagFactory(course=course, details={"reduction_pct": 10})
        pages = {
            desk: [
                "/",
                f"/day/?location={location.id}&date={date(2027, 3, 1)}",
                "/patients/?q=Label",
                f"/patients/{patient.id}/",
                f"/patients/{patient.id}/book/",
                f"/sessions/{booked.id}/reschedule/",
                "/due/",
            ],
            doctor: [
                "/",
                "/review/",
                f"/patients/{patient.id}/",
                f"/patients/{patient.id}/book/",
                f"/patients/{patient.id}/response/",
                f"/sessions/{here.id}/complete/",
            ],
        }
        for client, urls in pages.items():
            for url in urls:
                response = client.get(url)
                assert response.status_code == 200, url
                assert _unlabelled(response.content.decode()) == [], url
        from django.test import Client

        assert _unlabelled(Client().get("/login/").content.decode()) == []
