"""A database migrated at the previous main (before cycles/ existed) migrates forward with every row intact.

The course's tables moved from scheduling/ and patients/ to cycles/ (issue 10): state-only moves, then a
table rename. This builds the old schema with Django's migration executor, writes a row into every moved
table (and the rows that point at them) through the historical models, migrates to today's leaf nodes,
and reads everything back through today's models. It runs on PostgreSQL and on SQLite.
"""

import uuid
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.db import IntegrityError, connection, transaction
from django.db.migrations.executor import MigrationExecutor

from cycles.models import AdverseEvent, Course, Protocol, ReviewFlag, TreatmentRecord
from notifications.models import Notification
from scheduling.models import Session
from tests.conftest import allow_audit_truncate

PREVIOUS_MAIN = [
    ("clinic", "0003_auditlog_user_protect"),
    ("patients", "0002_initial"),
    ("scheduling", "0005_session_course_index"),
    ("notifications", "0002_notification_enqueued_at"),
    ("cycles", None),
]
NEW_YORK = ZoneInfo("America/New_York")


def _migrate(targets) -> MigrationExecutor:
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return MigrationExecutor(connection)


def _leaf_nodes() -> list:
    executor = MigrationExecutor(connection)
    return executor.loader.graph.leaf_nodes()


@pytest.fixture
def old_schema(transactional_db):
    executor = _migrate(PREVIOUS_MAIN)
    yield executor.loader.project_state(PREVIOUS_MAIN[:-1]).apps
    _migrate(_leaf_nodes())  # leave the test database as every other test expects it
    allow_audit_truncate()  # re-migrating made the TRUNCATE trigger again (tests/conftest.py)


def test_every_row_of_the_moved_tables_survives_the_move_to_cycles(old_schema):
    old = old_schema
    ids = {name: uuid.uuid4() for name in ("protocol", "course", "session", "record", "event", "flag", "note")}
    user = old.get_model("auth", "User").objects.create(username="drlee")
    patient = old.get_model("patients", "Patient").objects.create(
        mrn="M-1", given_name="Ada", family_name="Ng", date_of_birth=date(1980, 1, 2), time_zone="America/New_York"
    )
    location = old.get_model("scheduling", "Location").objects.create(name="Midtown", time_zone="America/New_York")
    clinician = old.get_model("scheduling", "Clinician").objects.create(name="Dr Lee", user=user)
    protocol = old.get_model("scheduling", "Protocol").objects.create(
        id=ids["protocol"], name="NICE TA260", min_failed_preventives=3, review_after_sessions=2
    )
    course = old.get_model("scheduling", "Course").objects.create(
        id=ids["course"], patient=patient, protocol=protocol, status="active"
    )
    start = datetime.combine(date(2026, 9, 1), time(10), tzinfo=NEW_YORK)
    session = old.get_model("scheduling", "Session").objects.create(
        id=ids["session"],
        patient=patient,
        course=course,
        clinician=clinician,
        location=location,
        kind="treatment",
        start=start,
        end=start + timedelta(minutes=30),
        status="completed",
        cycle_number=1,
    )
    old.get_model("scheduling", "TreatmentRecord").objects.create(
        id=ids["record"],
        session=session,
        units_by_muscle={"frontalis": 20},
        sites=31,
        total_units=155,
        units_wasted=45,
        lot_number="C1234",
        lot_expiry=date(2027, 6, 30),
        injector=clinician,
        recorded_by=user,
    )
    old.get_model("scheduling", "AdverseEvent").objects.create(
        id=ids["event"], patient=patient, session=session, kind="dysphagia", severity="mild", note="day 3"
    )
    old.get_model("patients", "ReviewFlag").objects.create(
        id=ids["flag"], patient=patient, course=course, session=session, kind="adverse_event", cycle=1
    )
    old.get_model("notifications", "Notification").objects.create(
        id=ids["note"],
        patient=patient,
        session=session,
        course=course,
        purpose="next_session_due",
        channel="email",
        dedupe_key="k",
        due_at=start,
    )

    _migrate(_leaf_nodes())

    protocol = Protocol.objects.get(pk=ids["protocol"])
    assert (protocol.name, protocol.min_failed_preventives, protocol.review_after_sessions) == ("NICE TA260", 3, 2)
    course = Course.objects.select_related("patient", "protocol").get(pk=ids["course"])
    assert (course.patient.mrn, course.protocol_id, course.status) == ("M-1", ids["protocol"], "active")
    session = Session.objects.select_related("course").get(pk=ids["session"])
    assert session.course_id == ids["course"]
    record = TreatmentRecord.objects.select_related("session", "injector").get(pk=ids["record"])
    assert (record.session_id, record.total_units, record.units_wasted, record.lot_number) == (
        ids["session"],
        155,
        45,
        "C1234",
    )
    assert record.injector.name == "Dr Lee"
    assert session.treatment == record  # the reverse accessor still reaches the renamed table
    event = AdverseEvent.objects.get(pk=ids["event"])
    assert (event.session_id, event.kind, event.note) == (ids["session"], "dysphagia", "day 3")
    flag = ReviewFlag.objects.get(pk=ids["flag"])
    assert (flag.course_id, flag.session_id, flag.kind, flag.status) == (
        ids["course"],
        ids["session"],
        "adverse_event",
        "open",
    )
    assert Notification.objects.get(pk=ids["note"]).course_id == ids["course"]
    # The constraints came along: still one open flag per (course, kind, cycle), one active course.
    with pytest.raises(IntegrityError), transaction.atomic():
        ReviewFlag.objects.create(patient=course.patient, course=course, kind="adverse_event", cycle=1)
    with pytest.raises(IntegrityError), transaction.atomic():
        Course.objects.create(patient=course.patient, protocol=protocol)


def test_the_tables_carry_cycles_names_after_the_move(db):
    tables = set(connection.introspection.table_names())
    assert {"cycles_protocol", "cycles_course", "cycles_treatmentrecord", "cycles_adverseevent"} <= tables
    assert "cycles_reviewflag" in tables
    assert not tables & {"scheduling_course", "scheduling_protocol", "patients_reviewflag"}
