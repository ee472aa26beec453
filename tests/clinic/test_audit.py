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


@pytest.mark.postgres
@pytest.mark.parametrize("sql", ["TRUNCATE clinic_auditlog", "TRUNCATE auth_user CASCADE"])
def test_postgres_refuses_truncate_of_the_audit_log(row, sql):
    # The test database runs with this trigger off (tests/conftest.py): on here, as migrations leave it.
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # no pending FK checks of the row, or ALTER is refused
        cursor.execute("ALTER TABLE clinic_auditlog ENABLE TRIGGER clinic_auditlog_no_truncate")
        cursor.execute(sql)
    assert AuditLog.objects.count() == 1


@pytest.mark.postgres
def test_migrations_leave_the_truncate_trigger_on(db):
    from django.db.migrations.executor import MigrationExecutor

    from tests.conftest import allow_audit_truncate

    executor = MigrationExecutor(connection)
    executor.migrate([("clinic", "0004_auditlog_actor")])
    executor = MigrationExecutor(connection)
    executor.migrate([("clinic", "0005_auditlog_no_truncate")])
    with connection.cursor() as cursor:
        cursor.execute("SELECT tgenabled FROM pg_trigger WHERE tgname = 'clinic_auditlog_no_truncate'")
        assert cursor.fetchone() == ("O",)  # enabled ("origin")
    allow_audit_truncate()


@pytest.mark.parametrize("anonymous", [False, True])
def test_one_call_writes_a_row_per_patient_in_one_statement_sharing_the_request(
    anonymous, django_assert_num_queries, rf
):
    from django.contrib.auth.models import AnonymousUser

    from clinic.audit import audit_record

    user = UserFactory()
    patients = [PatientFactory() for _ in range(3)]
    request = rf.get("/day/", REMOTE_ADDR="10.1.2.3")
    request.user = AnonymousUser() if anonymous else user
    with django_assert_num_queries(1):  # one INSERT whatever the number of patients
        audit_record(
            request=request,
            action="read",
            resource="day_view",
            patient_ids=[p.pk for p in patients] + [patients[0].pk],  # a patient named twice: one row
            object_id="2027-01-11",
            detail="x" * 600,
            actor="" if not anonymous else "patient link 1",
        )
    rows = list(AuditLog.objects.order_by("patient_id"))
    assert sorted(r.patient_id for r in rows) == sorted(p.pk for p in patients)
    assert {(r.user_id, r.action, r.resource, r.object_id, r.client_ip, len(r.detail)) for r in rows} == {
        (None if anonymous else user.pk, "read", "day_view", "2027-01-11", "10.1.2.3", 500)
    }
    assert len({r.request_id for r in rows}) == 1
    assert {r.actor for r in rows} == {"patient link 1" if anonymous else ""}
