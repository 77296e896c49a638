"""A log filter that blanks secrets, so tokens and API keys never reach stdout."""

from __future__ import annotations

import logging
import re

_SECRET_PATTERNS = [
    re.compile(r"(Authorization:?\s*['\"]?(?:Token|Bearer)\s+)[\w.\-]+", re.IGNORECASE),
    re.compile(r"\bsk-[A-Za-z0-9_\-]{8,}"),
    re.compile(r"((?:api[_-]?key|token|password|secret)['\"]?\s*[:=]\s*['\"]?)[^\s'\",]+", re.IGNORECASE),
]


def redact(text: str) -> str:
    for pattern in _SECRET_PATTERNS:
        text = pattern.sub(lambda m: (m.group(1) if m.groups() else "") + "[redacted]", text)
    return text


class RedactSecretsFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True
