"""Logging setup: one line per event, secrets redacted, text or JSON."""

from __future__ import annotations

import json
import logging
import re
import sys
import threading
from datetime import datetime, timezone

_SECRETS: set[str] = set()
_LOCK = threading.Lock()
REDACTED = "***"
# IMAP LOGIN / AUTHENTICATE lines as imaplib and imapclient may log them.
_LOGIN_RE = re.compile(r"(\b(?:LOGIN|AUTHENTICATE)\b\s+\S+\s+)(\S+)", re.IGNORECASE)


def register_secret(value: str) -> None:
    """Remember a secret so every later log line has it replaced by ***."""
    if len(value) >= 3:
        with _LOCK:
            _SECRETS.add(value)


def redact(text: str) -> str:
    """Replace registered secrets and LOGIN arguments in ``text``."""
    with _LOCK:
        secrets = sorted(_SECRETS, key=len, reverse=True)
    for secret in secrets:
        if secret in text:
            text = text.replace(secret, REDACTED)
    return _LOGIN_RE.sub(rf"\1{REDACTED}", text)


class RedactingFilter(logging.Filter):
    """Render the record once and redact it, including exception text."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        record.msg, record.args = redact(message), None
        if record.exc_info and record.exc_info[1] is not None:
            record.exc_text = redact(logging.Formatter().formatException(record.exc_info))
            record.exc_info = None
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message (and exception)."""

    def format(self, record: logging.LogRecord) -> str:
        payload = {
            "time": datetime.fromtimestamp(record.created, timezone.utc).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_text:
            payload["exception"] = record.exc_text
        return json.dumps(payload, ensure_ascii=False)


def setup_logging(verbosity: int = 0, fmt: str = "text", stream: object = None) -> None:
    """Configure the root logger: -q → WARNING, default INFO, -v → DEBUG (tracebacks at DEBUG only)."""
    level = logging.WARNING if verbosity < 0 else logging.DEBUG if verbosity > 0 else logging.INFO
    handler = logging.StreamHandler(stream or sys.stderr)  # type: ignore[arg-type]
    handler.addFilter(RedactingFilter())
    if fmt == "json":
        handler.setFormatter(JsonFormatter())
    else:
        # journald adds its own timestamps; keep the line short and greppable.
        handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    for noisy in ("imapclient", "asyncio"):
        logging.getLogger(noisy).setLevel(max(level, logging.WARNING))
    # mail-parser warns about every part it does not decode (text/calendar, ...): not the user's problem.
    logging.getLogger("mailparser").setLevel(max(level, logging.ERROR))
