"""Secrets never reach the logs: tokens, API keys and passwords are blanked."""

from __future__ import annotations

import logging

import pytest

from leads.logging import RedactSecretsFilter, redact


@pytest.mark.parametrize(
    ("text", "secret"),
    [
        ("Authorization: Token 9944b09199c62bcf9418ad846dd0e4bbdfc6ee4b", "9944b09199c62bcf9418ad846dd0e4bbdfc6ee4b"),
        ("header Authorization='Bearer sk-live-abcdefghijklmnop'", "sk-live-abcdefghijklmnop"),
        ("using key sk-proj-AbCdEf0123456789xyz for the call", "sk-proj-AbCdEf0123456789xyz"),
        ("api_key=supersecretvalue&x=1", "supersecretvalue"),
        ('{"password": "hunter2-long"}', "hunter2-long"),
    ],
)
def test_redact_blanks_secrets(text: str, secret: str) -> None:
    cleaned = redact(text)
    assert secret not in cleaned
    assert "[redacted]" in cleaned


def test_filter_rewrites_the_record_with_its_arguments() -> None:
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "calling with api_key=%s", ("sk-abcdefghijklmn",), None)
    assert RedactSecretsFilter().filter(record)
    assert record.getMessage() == "calling with api_key=[redacted]"


def test_ordinary_text_is_left_alone() -> None:
    assert redact("Scored 7 of 7 leads for token bucket sizing") == "Scored 7 of 7 leads for token bucket sizing"
