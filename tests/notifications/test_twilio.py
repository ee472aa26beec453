"""The Twilio backend, with the real twilio package, against a stand-in of Twilio's Messages API on loopback."""

import json
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer
from urllib.parse import parse_qs

import pytest
from twilio.http.http_client import TwilioHttpClient

from notifications.channels import PermanentSendError, SmsMessage, TransientSendError
from notifications.channels.sms import TwilioSmsBackend


class FakeTwilio(BaseHTTPRequestHandler):
    replies: list = []
    received: list = []

    def do_POST(self):
        body = parse_qs(self.rfile.read(int(self.headers["Content-Length"])).decode())
        FakeTwilio.received.append((self.path, body))
        status, payload = FakeTwilio.replies.pop(0)
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


class LoopbackClient(TwilioHttpClient):
    def __init__(self, base: str):
        super().__init__()
        self.base = base

    def request(self, method, url, *args, **kwargs):
        return super().request(method, url.replace("https://api.twilio.com", self.base), *args, **kwargs)


@pytest.fixture
def twilio(settings):
    settings.TWILIO_ACCOUNT_SID = "AC" + "0" * 32
    settings.TWILIO_AUTH_TOKEN = "token"
    settings.TWILIO_FROM_NUMBER = "+15005550006"
    server = HTTPServer(("127.0.0.1", 0), FakeTwilio)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    FakeTwilio.replies, FakeTwilio.received = [], []
    yield TwilioSmsBackend(http_client=LoopbackClient(f"http://127.0.0.1:{server.server_port}"))
    server.shutdown()


MESSAGE = SmsMessage(to="+447700900123", body="Hi Ann. Reply STOP to opt out", idempotency_key="notification-x")


def test_a_sent_sms_returns_twilios_sid(twilio):
    FakeTwilio.replies = [(201, {"sid": "SM" + "a" * 32, "status": "queued"})]
    assert twilio.send(MESSAGE) == "SM" + "a" * 32
    path, form = FakeTwilio.received[0]
    assert path == f"/2010-04-01/Accounts/{'AC' + '0' * 32}/Messages.json"
    assert form == {"To": ["+447700900123"], "From": ["+15005550006"], "Body": [MESSAGE.body]}


@pytest.mark.parametrize("status", [429, 500, 503])
def test_a_throttled_or_failing_provider_is_transient(twilio, status):
    FakeTwilio.replies = [(status, {"code": 20429, "message": "try later", "status": status})]
    with pytest.raises(TransientSendError):
        twilio.send(MESSAGE)


def test_a_refused_number_is_permanent(twilio):
    FakeTwilio.replies = [(400, {"code": 21211, "message": "Invalid 'To' Phone Number", "status": 400})]
    with pytest.raises(PermanentSendError):
        twilio.send(MESSAGE)
