"""The audit log is append-only: in Python everywhere, and in the database on PostgreSQL."""

import pytest
from django.db import DatabaseError, connection, transaction
from django.db.models import ProtectedError

from clinic.models import AuditLog
from tests.factories import PatientFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def row():
    return AuditLog.objects.create(
        user=UserFactory(), action="read", patient_id=PatientFactory().id, resource="patient", client_ip="127.0.0.1"
    )


def test_a_saved_row_cannot_be_saved_again(row):
    row.action = "update"
    with pytest.raises(ValueError, match="append-only"):
        row.save()
    assert AuditLog.objects.get().action == "read"


def test_a_row_cannot_be_deleted(row):
    with pytest.raises(ValueError, match="append-only"):
        row.delete()
    with pytest.raises(ValueError, match="append-only"):
        AuditLog.objects.all().delete()
    with pytest.raises(ValueError, match="append-only"):
        AuditLog.objects.filter(pk=row.pk).update(action="update")
    assert AuditLog.objects.count() == 1


def test_a_user_with_audit_rows_cannot_be_deleted(row):
    with pytest.raises(ProtectedError):
        row.user.delete()
    assert AuditLog.objects.get().user_id == row.user_id


def test_rows_are_stamped_in_utc(row):
    assert row.at.utcoffset().total_seconds() == 0


@pytest.mark.postgres
@pytest.mark.parametrize(
    "sql",
    [
        "UPDATE clinic_auditlog SET action = 'update'",
        "DELETE FROM clinic_auditlog",
        "UPDATE clinic_auditlog SET user_id = NULL",
    ],
)
def test_postgres_refuses_updates_and_deletes_in_the_database(row, sql):
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(sql)
    assert AuditLog.objects.get().action == "read"
