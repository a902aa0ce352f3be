"""sd_notify message formatting, socket addresses and watchdog intervals (no sockets)."""

from __future__ import annotations

from introd.notify import Notifier, format_message, socket_address, status_text, watchdog_interval


def test_messages_are_key_value_lines_and_values_cannot_inject_lines() -> None:
    """READY=1 and STATUS= go out as newline-separated assignments; a newline in a value is flattened."""
    assert format_message(READY=1, STATUS="ok") == b"READY=1\nSTATUS=ok"
    assert format_message(STATUS="a\nWATCHDOG=1") == b"STATUS=a WATCHDOG=1"


def test_status_text_names_every_account_and_is_bounded() -> None:
    """STATUS= lists what each account is doing, and a long line is cut."""
    assert status_text({"work": "idle", "home": "login rejected"}) == "work: idle; home: login rejected"
    assert status_text({}) == "starting"
    assert len(status_text({f"a{i}": "x" * 50 for i in range(20)}, limit=100)) == 100


def test_abstract_namespace_and_paths() -> None:
    """``@name`` is the Linux abstract namespace; absolute paths are used as they are; other forms are ignored."""
    assert socket_address("@/org/systemd/notify") == b"\0/org/systemd/notify"
    assert socket_address("/run/systemd/notify") == "/run/systemd/notify"
    assert socket_address("") is None
    assert socket_address("vsock:2:1234") is None


def test_watchdog_pings_at_half_the_interval_for_this_pid_only() -> None:
    """WATCHDOG_USEC=20 s -> a ping every 10 s; another process's WATCHDOG_PID means no watchdog."""
    assert watchdog_interval({"WATCHDOG_USEC": "20000000"}, 42) == 10.0
    assert watchdog_interval({"WATCHDOG_USEC": "20000000", "WATCHDOG_PID": "42"}, 42) == 10.0
    assert watchdog_interval({"WATCHDOG_USEC": "20000000", "WATCHDOG_PID": "7"}, 42) is None
    assert watchdog_interval({}, 42) is None


def test_outside_systemd_the_notifier_does_nothing() -> None:
    """Without $NOTIFY_SOCKET nothing is sent and nothing fails."""
    n = Notifier({})
    assert not n.enabled
    n.send(READY=1)
    n.status({"work": "idle"})
    n.close()
