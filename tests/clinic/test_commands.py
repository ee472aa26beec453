"""create_staff and seed_demo."""

import re
from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command

from clinic.roles import ALL_ROLES, roles_of
from patients.models import DiaryEntry, Patient
from scheduling.models import Clinician, Location, WorkingHours

pytestmark = pytest.mark.django_db
User = get_user_model()


@pytest.mark.parametrize("role", ALL_ROLES)
def test_create_staff_makes_a_user_in_the_role(role, anon_client):
    call_command("create_staff", "pat", "--role", role, "--password", "a-long-pass-phrase", stdout=StringIO())
    user = User.objects.get(username="pat")
    assert roles_of(user) == {role}
    assert user.is_staff == (role == "clinic_admin")
    assert not Clinician.objects.exists()
    token = anon_client.post("/api/v1/auth/token/", {"username": "pat", "password": "a-long-pass-phrase"})
    assert token.status_code == 200


def test_create_staff_with_clinician_also_creates_the_clinician_row():
    call_command(
        "create_staff",
        "drlee",
        "--role",
        "clinician",
        "--password",
        "pw-0123456789",
        "--clinician",
        "--name",
        "Dr Lee",
        stdout=StringIO(),
    )
    clinician = Clinician.objects.get()
    assert (clinician.name, clinician.user.username) == ("Dr Lee", "drlee")


def test_create_staff_prompts_for_the_password_when_not_given(monkeypatch):
    monkeypatch.setattr("getpass.getpass", lambda prompt="": "prompted-pass-phrase")
    call_command("create_staff", "pat", "--role", "front_desk", stdout=StringIO())
    assert User.objects.get(username="pat").check_password("prompted-pass-phrase")


def test_create_staff_refuses_an_existing_username_and_an_unknown_role():
    call_command("create_staff", "pat", "--role", "front_desk", "--password", "pw-0123456789", stdout=StringIO())
    with pytest.raises(CommandError, match="already exists"):
        call_command("create_staff", "pat", "--role", "clinician", "--password", "pw-0123456789")
    with pytest.raises(CommandError):
        call_command("create_staff", "sam", "--role", "surgeon", "--password", "pw-0123456789")
    assert User.objects.count() == 1


def _counts() -> dict:
    from django.apps import apps

    return {
        model._meta.label: model._default_manager.count()
        for model in apps.get_models()
        if model._meta.app_label in ("auth", "patients", "scheduling", "cycles", "notifications")
    }


def test_seed_demo_builds_the_demo_clinic_and_a_second_run_changes_nothing():
    out = StringIO()
    call_command("seed_demo", stdout=out)
    locations = list(Location.objects.all())
    assert len(locations) == 2
    assert len({loc.time_zone for loc in locations}) == 2
    assert Clinician.objects.count() == 4
    assert WorkingHours.objects.exists()
    assert Patient.objects.count() == 40
    for patient in Patient.objects.all():
        assert DiaryEntry.objects.filter(patient=patient).count() >= 3
    before = _counts()
    call_command("seed_demo", stdout=StringIO())
    assert _counts() == before


def test_the_printed_demo_logins_get_tokens_with_the_printed_password(anon_client):
    out = StringIO()
    call_command("seed_demo", stdout=out)
    text = out.getvalue()
    password = re.search(r"password for all: (\S+?)\)", text).group(1)
    logins = re.findall(r"^\s+(\w+)\s+(front_desk|clinician|clinic_admin)$", text, re.MULTILINE)
    assert {role for _, role in logins} == set(ALL_ROLES)
    assert "drlee" in {name for name, _ in logins}
    for username, role in logins:
        response = anon_client.post("/api/v1/auth/token/", {"username": username, "password": password})
        assert response.status_code == 200, username
        assert role in roles_of(User.objects.get(username=username))


def test_seed_demo_patients_have_valid_phones_and_zones():
    from clinic.timezones import validate_time_zone
    from patients.contact import normalise_phone

    call_command("seed_demo", stdout=StringIO())
    for patient in Patient.objects.all():
        assert normalise_phone(patient.phone) == patient.phone
        validate_time_zone(patient.time_zone)


@pytest.mark.parametrize("weak", ["1", "password", "12345678901", "pat"])
def test_create_staff_refuses_a_password_the_validators_refuse(weak):
    with pytest.raises(CommandError, match="too weak"):
        call_command("create_staff", "pat", "--role", "clinician", "--password", weak, stdout=StringIO())
    assert not User.objects.filter(username="pat").exists()


def test_create_staff_refuses_a_weak_prompted_password_too(monkeypatch):
    monkeypatch.setattr("getpass.getpass", lambda prompt="": "1")
    with pytest.raises(CommandError, match="too weak"):
        call_command("create_staff", "pat", "--role", "front_desk", stdout=StringIO())
    assert not User.objects.exists()
