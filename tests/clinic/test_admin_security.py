"""The Django admin is for clinic set-up: no escalation, no clinical records, patient pages read-only and audited."""

import json
from datetime import timedelta

import pytest
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.test import Client
from django.utils import timezone

from clinic.models import AuditLog
from clinic.roles import CLINIC_ADMIN, CLINICIAN, FRONT_DESK, ensure_groups, roles_of
from cycles.models import AdverseEvent, Protocol, ReviewFlag, TreatmentRecord
from notifications.models import PatientLink
from patients.models import Patient
from scheduling.models import Location, Session
from tests.conftest import _client_for
from tests.factories import CourseFactory, PatientFactory, SessionFactory, UserFactory

pytestmark = pytest.mark.django_db
User = get_user_model()


def _admin_client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def clinic_admin():
    ensure_groups()
    user = UserFactory(username="boss", role=CLINIC_ADMIN)
    user.is_staff = True
    user.save()
    return user


@pytest.fixture
def superuser():
    return User.objects.create_superuser("root", "root@example.com", "a-long-root-pass-phrase")


def _change_form(user, **overrides) -> dict:
    data = {
        "username": user.username,
        "first_name": "",
        "last_name": "",
        "email": "",
        "is_active": "on",
        "roles": sorted(roles_of(user)),
        "last_login_0": "",
        "last_login_1": "",
        "date_joined_0": "2027-01-01",
        "date_joined_1": "09:00:00",
    }
    data.update(overrides)
    return data


def test_a_clinic_admin_cannot_make_themselves_superuser_through_the_admin_user_form(clinic_admin):
    patient = PatientFactory()
    client = _admin_client(clinic_admin)
    every_permission = [str(p.pk) for p in Permission.objects.all()]
    response = client.post(
        f"/admin/auth/user/{clinic_admin.pk}/change/",
        _change_form(
            clinic_admin, is_superuser="on", is_staff="on", user_permissions=every_permission, groups=["1", "2", "3"]
        ),
    )
    assert response.status_code == 302, response.content[:2000]
    clinic_admin.refresh_from_db()
    assert not clinic_admin.is_superuser
    assert not clinic_admin.user_permissions.exists()
    assert roles_of(User.objects.get(pk=clinic_admin.pk)) == {CLINIC_ADMIN}
    # and so the clinic admin's token still cannot read a diary
    assert _client_for(clinic_admin).get(f"/api/v1/patients/{patient.id}/diary/").status_code == 403


def test_the_staff_form_sets_only_the_three_roles_and_is_staff_follows_clinic_admin(clinic_admin):
    desk = UserFactory(username="desk", role=FRONT_DESK)
    client = _admin_client(clinic_admin)
    form = client.get(f"/admin/auth/user/{desk.pk}/change/").content.decode()
    for absent in ("is_superuser", "user_permissions", 'name="groups"', 'name="is_staff"'):
        assert absent not in form
    response = client.post(f"/admin/auth/user/{desk.pk}/change/", _change_form(desk, roles=[CLINICIAN, CLINIC_ADMIN]))
    assert response.status_code == 302
    desk = User.objects.get(pk=desk.pk)
    assert roles_of(desk) == {CLINICIAN, CLINIC_ADMIN}
    assert desk.is_staff and not desk.is_superuser
    bad = client.post(f"/admin/auth/user/{desk.pk}/change/", _change_form(desk, roles=["superuser"]))
    assert bad.status_code == 200  # the form again, with the error
    assert roles_of(User.objects.get(pk=desk.pk)) == {CLINICIAN, CLINIC_ADMIN}


def test_the_clinic_admin_group_holds_set_up_permissions_only(clinic_admin):
    held = set(Permission.objects.filter(group__name=CLINIC_ADMIN).values_list("content_type__app_label", "codename"))
    assert ("auth", "change_user") in held
    assert ("scheduling", "change_location") in held
    assert not {codename for app, codename in held if app == "auth"} & {
        "add_group",
        "change_group",
        "add_permission",
        "change_permission",
        "delete_user",
    }
    clinical = {"session", "course", "treatmentrecord", "adverseevent", "reviewflag", "notification", "patientlink"}
    assert not [codename for _, codename in held if codename.split("_", 1)[1] in clinical]


def test_a_clinic_admin_cannot_see_or_reset_a_superusers_account(clinic_admin, superuser):
    client = _admin_client(clinic_admin)
    assert "root" not in client.get("/admin/auth/user/").content.decode()
    assert client.get(f"/admin/auth/user/{superuser.pk}/change/").status_code in (302, 404)
    response = client.post(
        f"/admin/auth/user/{superuser.pk}/password/", {"password1": "taken-over-1234", "password2": "taken-over-1234"}
    )
    assert response.status_code in (302, 404)
    superuser.refresh_from_db()
    assert superuser.check_password("a-long-root-pass-phrase")


def test_a_clinic_admin_sees_only_set_up_models_in_the_admin(clinic_admin):
    SessionFactory()
    client = _admin_client(clinic_admin)
    index = client.get("/admin/").content.decode()
    for shown in ("/admin/scheduling/location/", "/admin/scheduling/clinician/", "/admin/auth/user/"):
        assert shown in index
    for hidden in ("session", "course", "notification", "patientlink", "inboundmessage", "treatmentrecord"):
        assert f"/{hidden}/" not in index
    for url in ("/admin/scheduling/session/", "/admin/cycles/course/", "/admin/notifications/notification/"):
        assert client.get(url).status_code == 403, url
    assert not AuditLog.objects.exists()


def test_clinical_records_are_not_in_the_admin_at_all():
    for model in (TreatmentRecord, AdverseEvent, ReviewFlag):
        assert not admin.site.is_registered(model), model


def test_a_superuser_sees_patient_pages_read_only_and_every_view_is_audited(superuser):
    sessions = [SessionFactory() for _ in range(3)]
    client = _admin_client(superuser)
    assert client.get("/admin/scheduling/session/").status_code == 200
    listed = set(AuditLog.objects.filter(resource="session", detail="admin list").values_list("patient_id", flat=True))
    assert listed == {s.patient_id for s in sessions}
    assert client.get(f"/admin/scheduling/session/{sessions[0].pk}/change/").status_code == 200
    row = AuditLog.objects.get(detail="admin view")
    assert (row.user, row.patient_id, row.object_id) == (superuser, sessions[0].patient_id, str(sessions[0].pk))
    assert client.get("/admin/scheduling/session/add/").status_code == 403
    moved = client.post(f"/admin/scheduling/session/{sessions[0].pk}/change/", {"status": "cancelled"})
    assert moved.status_code == 403
    assert Session.objects.get(pk=sessions[0].pk).status == Session.Status.BOOKED


def test_clearing_a_links_used_at_in_the_admin_does_not_revive_it(superuser):
    session = SessionFactory()
    link = PatientLink.objects.create(
        key="abc123", kind="session", patient=session.patient, session=session, used_at=timezone.now()
    )
    client = _admin_client(superuser)
    response = client.post(f"/admin/notifications/patientlink/{link.pk}/change/", {"used_at_0": "", "used_at_1": ""})
    assert response.status_code == 403
    assert PatientLink.objects.get(pk=link.pk).used_at is not None


def test_the_admin_login_page_sends_people_to_the_login_with_its_second_step():
    response = Client().get("/admin/login/?next=/admin/")
    assert response.status_code == 302
    assert response["Location"].startswith("/login/?next=/admin/")


def test_front_desk_opening_the_admin_gets_403_not_a_redirect_loop():
    client = _admin_client(UserFactory(username="desk", role=FRONT_DESK))
    first = client.get("/admin/")
    assert first.status_code == 302
    assert client.get(first["Location"]).status_code == 403


@pytest.mark.parametrize("zone", ["New York", "localtime", "Factory", "EST5EDT-ish"])
def test_the_location_admin_refuses_a_zone_that_is_not_iana(clinic_admin, zone):
    client = _admin_client(clinic_admin)
    form = client.get("/admin/scheduling/location/add/").content.decode()
    assert '<select name="time_zone"' in form
    assert '<option value="America/New_York">' in form
    response = client.post("/admin/scheduling/location/add/", {"name": "Uptown", "time_zone": zone})
    assert response.status_code == 200
    assert not Location.objects.filter(name="Uptown").exists()


def test_the_location_admin_saves_an_iana_zone(clinic_admin):
    client = _admin_client(clinic_admin)
    response = client.post("/admin/scheduling/location/add/", {"name": "Uptown", "time_zone": "America/Chicago"})
    assert response.status_code == 302
    assert Location.objects.get(name="Uptown").time_zone == "America/Chicago"


def test_the_staff_add_form_refuses_a_weak_password(clinic_admin):
    client = _admin_client(clinic_admin)
    response = client.post(
        "/admin/auth/user/add/", {"username": "newdesk", "password1": "1", "password2": "1", "roles": [FRONT_DESK]}
    )
    assert response.status_code == 200
    assert "too short" in response.content.decode()
    assert not User.objects.filter(username="newdesk").exists()
    good = client.post(
        "/admin/auth/user/add/",
        {
            "username": "newdesk",
            "password1": "front-desk-pass-2027",
            "password2": "front-desk-pass-2027",
            "roles": [FRONT_DESK],
        },
    )
    assert good.status_code == 302
    assert roles_of(User.objects.get(username="newdesk")) == {FRONT_DESK}


def test_the_admin_password_change_refuses_a_weak_password(clinic_admin):
    desk = UserFactory(username="desk", role=FRONT_DESK)
    client = _admin_client(clinic_admin)
    response = client.post(f"/admin/auth/user/{desk.pk}/password/", {"password1": "12345", "password2": "12345"})
    assert response.status_code == 200
    assert User.objects.get(pk=desk.pk).check_password("pw-for-tests-1")


def test_an_old_database_clinic_admin_group_is_narrowed_by_migrate(clinic_admin):
    from django.contrib.auth.models import Group
    from django.core.management import call_command

    Group.objects.get(name=CLINIC_ADMIN).permissions.set(Permission.objects.all())
    call_command("migrate", verbosity=0)
    held = set(Permission.objects.filter(group__name=CLINIC_ADMIN).values_list("codename", flat=True))
    assert "change_group" not in held and "change_user" in held


def test_the_session_list_audit_names_no_patient_twice_and_misses_none(superuser):
    patient = PatientFactory()
    course = CourseFactory(patient=patient)
    for days in (1, 2):
        SessionFactory(patient=patient, course=course, start=timezone.now() + timedelta(days=days))
    _admin_client(superuser).get("/admin/scheduling/session/")
    assert list(AuditLog.objects.values_list("patient_id", flat=True)) == [patient.id]
    assert Patient.objects.count() == 1


def _protocol_form(protocol, **overrides) -> dict:
    from django.forms.models import model_to_dict

    data = {k: v for k, v in model_to_dict(protocol).items() if k not in ("id", "is_default")}
    data["urgent_adverse_events"] = json.dumps(data["urgent_adverse_events"])
    if protocol.is_default:
        data["is_default"] = "on"
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not False}


def test_the_protocol_admin_keeps_the_apis_rules_and_moves_the_default(clinic_admin):
    client = _admin_client(clinic_admin)
    default = Protocol.default()
    # The same refusals as PATCH /protocols/{id}/: a duplicate name, max below standard, no default left.
    page = client.post("/admin/cycles/protocol/add/", _protocol_form(default, name=default.name.lower()))
    assert page.status_code == 200 and "Another profile has this name." in page.content.decode()
    page = client.post(f"/admin/cycles/protocol/{default.pk}/change/", _protocol_form(default, max_units=100))
    assert page.status_code == 200 and "Below standard_units." in page.content.decode()
    unticked = _protocol_form(default)
    unticked.pop("is_default")
    page = client.post(f"/admin/cycles/protocol/{default.pk}/change/", unticked)
    assert page.status_code == 200 and "always the default" in page.content.decode()
    # Ticking "is default" on a new profile moves the mark: still exactly one default.
    added = client.post("/admin/cycles/protocol/add/", _protocol_form(default, name="US payer", is_default="on"))
    assert added.status_code == 302
    assert Protocol.objects.get(is_default=True).name == "US payer"
    assert Protocol.objects.count() == 2
    assert client.post(f"/admin/cycles/protocol/{default.pk}/delete/", {"post": "yes"}).status_code == 403
