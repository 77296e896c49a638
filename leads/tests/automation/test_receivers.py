"""The test receivers themselves: the signature check against the Standard Webhooks example, and
scripted answers (leads/tests/receivers.py). No DB."""

from __future__ import annotations

import urllib.error
import urllib.request

import pytest

from leads.integrations.webhooks import signature, signed_headers
from leads.tests.receivers import Receiver, Response, SlackReceiver, expected_signature, verify_signature

# The example of the Standard Webhooks specification.
SPEC_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
SPEC_ID = "msg_p5jXN8AQM9LWM0D4loKWxJek"
SPEC_TIMESTAMP = 1614265330
SPEC_BODY = b'{"test": 2432232314}'
SPEC_SIGNATURE = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="


def test_the_receiver_check_matches_the_specification() -> None:
    assert expected_signature(SPEC_SECRET, SPEC_ID, str(SPEC_TIMESTAMP), SPEC_BODY) == SPEC_SIGNATURE
    headers = {"Webhook-Id": SPEC_ID, "Webhook-Timestamp": str(SPEC_TIMESTAMP),
               "Webhook-Signature": f"v1,bm90LXRoaXMtb25l {SPEC_SIGNATURE}"}
    assert verify_signature(SPEC_SECRET, headers, SPEC_BODY, now=SPEC_TIMESTAMP + 299)
    assert not verify_signature(SPEC_SECRET, headers, SPEC_BODY, now=SPEC_TIMESTAMP + 301)
    assert not verify_signature(SPEC_SECRET, headers, SPEC_BODY, now=SPEC_TIMESTAMP - 301)
    assert not verify_signature(SPEC_SECRET, {**headers, "Webhook-Id": "msg_other"}, SPEC_BODY,
                                now=SPEC_TIMESTAMP)
    assert not verify_signature(SPEC_SECRET, {"Webhook-Id": SPEC_ID}, SPEC_BODY, now=SPEC_TIMESTAMP)


def test_the_product_signs_like_the_specification() -> None:
    assert signature(SPEC_SECRET, SPEC_ID, SPEC_TIMESTAMP, SPEC_BODY) == SPEC_SIGNATURE
    assert signed_headers(SPEC_SECRET, SPEC_ID, SPEC_BODY, now=SPEC_TIMESTAMP) == {
        "webhook-id": SPEC_ID, "webhook-timestamp": str(SPEC_TIMESTAMP), "webhook-signature": SPEC_SIGNATURE}


def post(url: str, body: bytes) -> tuple[int, dict[str, str], bytes]:
    request = urllib.request.Request(url, data=body, method="POST", headers={"X-Test": "1"})
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers), exc.read()


def test_scripted_answers_then_the_default() -> None:
    with Receiver([Response(429, {"Retry-After": "7"}, b"wait"), Response(201, {}, "made")]) as receiver:
        assert receiver.url().startswith("http://127.0.0.1:")
        first = post(receiver.url("/a"), b"one")
        second = post(receiver.url("/b"), b"two")
        third = post(receiver.url("/c"), b"")
        assert (first[0], first[1]["Retry-After"], first[2]) == (429, "7", b"wait")
        assert (second[0], second[2]) == (201, b"made")
        assert (third[0], third[2]) == (200, b"ok")
        assert [(r.method, r.path, r.body, r.headers["x-test"]) for r in receiver.requests] == [
            ("POST", "/a", b"one", "1"), ("POST", "/b", b"two", "1"), ("POST", "/c", b"", "1")]
    with pytest.raises(OSError):
        post(receiver.url(), b"after stop")


def test_slack_receiver() -> None:
    with SlackReceiver([SlackReceiver.rate_limited(3), SlackReceiver.server_error()]) as receiver:
        assert post(receiver.url(), b'{"text": "a"}')[0] == 429
        assert post(receiver.url(), b'{"text": "b"}')[0] == 500
        assert post(receiver.url(), b'{"text": "c"}')[2] == b"ok"
        assert [m["text"] for m in receiver.messages] == ["a", "b", "c"]
