"""Must show 6: the inbound SMS webhook checks Twilio's signature and applies a message once."""

import pytest
from twilio.request_validator import RequestValidator

from notifications.models import InboundMessage
from tests.factories import PatientFactory

pytestmark = pytest.mark.django_db

PATH = "/api/v1/webhooks/sms/"
TOKEN = "test-twilio-auth-token"


@pytest.fixture(autouse=True)
def _twilio(settings):
    settings.TWILIO_AUTH_TOKEN = TOKEN
    settings.SITE_URL = "https://cycledesk.example.org"


def form(**params):
    return {
        "MessageSid": "SM" + "a" * 32,
        "AccountSid": "AC" + "b" * 32,
        "From": "+447700900123",
        "Body": "STOP",
        **params,
    }


@pytest.fixture
def patient(db):
    return PatientFactory(phone="+447700900123", sms_opt_in=True)


def post_form(client, params: dict, signature: str):
    from urllib.parse import urlencode

    return client.generic(
        "POST",
        PATH,
        urlencode(params),
        content_type="application/x-www-form-urlencoded",
        HTTP_X_TWILIO_SIGNATURE=signature,
    )


def sign(params: dict, token: str = TOKEN) -> str:
    return RequestValidator(token).compute_signature(f"https://cycledesk.example.org{PATH}", params)


def test_stop_with_a_valid_signature_turns_sms_consent_off(anon_client, patient):
    params = form()
    response = post_form(anon_client, params, sign(params))
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/xml")
    patient.refresh_from_db()
    assert patient.sms_opt_in is False
    message = InboundMessage.objects.get()
    assert (message.action, message.patients_matched, message.from_number) == ("opt_out", 1, "+447700900123")


@pytest.mark.parametrize("signature", ["", "bm90IGEgc2lnbmF0dXJl", "wrong-token"])
def test_a_bad_signature_is_refused_with_403_and_changes_nothing(anon_client, patient, signature):
    params = form()
    if signature == "wrong-token":
        signature = sign(params, token="someone-elses-token")
    response = post_form(anon_client, params, signature)
    assert response.status_code == 403
    assert response.json()["code"] == "permission_denied"
    patient.refresh_from_db()
    assert patient.sms_opt_in is True
    assert InboundMessage.objects.count() == 0


def test_a_signature_for_other_parameters_is_refused(anon_client, patient):
    signature = sign(form(Body="hello"))
    response = post_form(anon_client, form(Body="STOP"), signature)
    assert response.status_code == 403
    patient.refresh_from_db()
    assert patient.sms_opt_in is True


def test_the_same_inbound_message_twice_has_one_effect(anon_client, patient):
    stop = form(MessageSid="SM-stop-1", Body="STOP")
    start = form(MessageSid="SM-start-1", Body="START")
    assert post_form(anon_client, stop, sign(stop)).status_code == 200
    assert post_form(anon_client, start, sign(start)).status_code == 200
    patient.refresh_from_db()
    assert patient.sms_opt_in is True

    # The provider replays the STOP: already applied, so it must not undo the later START.
    assert post_form(anon_client, stop, sign(stop)).status_code == 200
    patient.refresh_from_db()
    assert patient.sms_opt_in is True
    assert InboundMessage.objects.count() == 2


def test_a_national_form_sender_is_matched_in_e164(anon_client, settings):
    settings.DEFAULT_PHONE_REGION = "GB"
    patient = PatientFactory(phone="+447911123456", sms_opt_in=True)
    params = form(From="07911 123456", Body="stop")
    assert post_form(anon_client, params, sign(params)).status_code == 200
    patient.refresh_from_db()
    assert patient.sms_opt_in is False


def test_a_message_without_a_message_id_is_a_400(anon_client, patient):
    params = {"From": "+447700900123", "Body": "STOP"}
    response = post_form(anon_client, params, sign(params))
    assert response.status_code == 400
    assert response.json()["code"] == "validation_error"
    patient.refresh_from_db()
    assert patient.sms_opt_in is True
