"""PostgreSQL connections read timestamps with psycopg's C loader (clinic/db.py) and get what Django's gave."""

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.db import connection

from clinic.db import TIMESTAMPTZ_OID, UtcTimestamptzLoader
from scheduling.models import Session
from tests.factories import SessionFactory

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]
NEW_YORK = ZoneInfo("America/New_York")


def test_the_connection_reads_timestamptz_with_our_loader_and_django_keeps_it():
    connection.ensure_connection()
    with connection.cursor() as cursor:  # Django's cursor factory would register its own on disagreement
        loader = cursor.cursor.adapters.get_loader(TIMESTAMPTZ_OID, 0)
    assert loader is UtcTimestamptzLoader


@pytest.mark.parametrize(
    "local",
    [
        datetime(2026, 3, 8, 1, 59, 59, 999999),  # the minute before New York springs forward
        datetime(2026, 3, 8, 3, 0, 0, 1),  # and after it
        datetime(2026, 11, 1, 1, 30),  # the first 01:30 of the fall-back night
    ],
)
def test_instants_read_back_are_aware_utc_and_exact_across_dst(local):
    start = local.replace(tzinfo=NEW_YORK).astimezone(UTC)  # (an ambiguous local time never equals another zone's)
    session = SessionFactory(start=start, end=start + timedelta(minutes=30))
    start_read, end_read = Session.objects.values_list("start", "end").get(pk=session.pk)
    assert start_read == start and end_read - start_read == timedelta(minutes=30)
    assert start_read.tzinfo is UTC and start_read.microsecond == local.microsecond


def test_a_session_in_another_time_zone_still_reads_the_same_instants():
    start = datetime(2026, 7, 1, 9, 0, tzinfo=NEW_YORK)
    session = SessionFactory(start=start, end=start + timedelta(minutes=30))
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL TIME ZONE 'Asia/Kolkata'")
        cursor.execute("SELECT start FROM scheduling_session WHERE id = %s", [session.pk])
        (read,) = cursor.fetchone()
    assert read == start  # the same instant, whichever zone the server printed it in
