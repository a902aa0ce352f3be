"""Log redaction: registered secrets and IMAP LOGIN arguments never reach the log output."""

from __future__ import annotations

import io
import json
import logging

from introd.logs import redact, register_secret, setup_logging


def test_registered_secret_is_redacted_everywhere() -> None:
    """A registered secret is replaced in messages, arguments and tracebacks."""
    register_secret("s3cr3t-Pa55")
    out = io.StringIO()
    setup_logging(1, stream=out)
    log = logging.getLogger("introd.test")
    log.info("login with %s", "s3cr3t-Pa55")
    try:
        raise ValueError("bad password s3cr3t-Pa55")
    except ValueError:
        log.exception("failed")
    text = out.getvalue()
    assert "s3cr3t-Pa55" not in text
    assert text.count("***") >= 3


def test_login_lines_are_redacted() -> None:
    """An IMAP LOGIN command line loses its password even if it was never registered."""
    assert redact('a001 LOGIN alice "other-pass"') == "a001 LOGIN alice ***"


def test_json_format_is_one_object_per_line() -> None:
    """The JSON log format writes one parseable object per event."""
    out = io.StringIO()
    setup_logging(0, fmt="json", stream=out)
    logging.getLogger("introd.x").info("hello %s", "world")
    logging.getLogger("introd.x").warning("second")
    lines = out.getvalue().splitlines()
    assert [json.loads(line)["message"] for line in lines] == ["hello world", "second"]
    assert json.loads(lines[1])["level"] == "warning"
