"""Reminders: who waits on whom since when, what is due and proposed, threaded and hashed."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta, timezone
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path

import pytest

from introd.drafting import User
from introd.intros import DueAction, DueKind, IntroState, Role, Stage
from introd.message import Address, Message
from introd.reminders import render_reminder, state_hash

NOW = datetime(2026, 3, 10, 9, 30, tzinfo=timezone.utc)
KATHY = Address("Kathy Lee", "kathy@k.example")
MARY = Address("Mary Smith", "mary@m.example")
STEVEN = Address("Steven Jones", "steven@s.example")
ME = User("Mary Smith", ("mary@m.example",))


def intro() -> Message:
    """Kathy's intro of Mary and Steven."""
    return Message(
        message_id="intro-1@k.example",
        subject="Intro: Mary <> Steven",
        date=NOW - timedelta(days=9),
        sender=KATHY,
        to=(STEVEN, MARY),
        references=("root@k.example",),
        has_body=True,
        new_text="Mary, meet Steven.",
    )


def state(**changes: object) -> IntroState:
    """Mary's view of the intro: she wrote Steven, who has not answered."""
    st = IntroState(
        thread_id="t1",
        subject="Intro: Mary <> Steven",
        stage=Stage.INTRODUCED,
        role=Role.INTRODUCED,
        introducer=KATHY,
        parties=(MARY, STEVEN),
        started=NOW - timedelta(days=9),
        last_activity=NOW - timedelta(days=6),
        nudges_sent={STEVEN.email: 1},
        message_ids=("root@k.example", "intro-1@k.example", "mary-1@m.example"),
    )
    return replace(st, **changes)  # type: ignore[arg-type]


NUDGE = DueAction(
    kind=DueKind.NUDGE,
    thread_id="t1",
    key="t1:nudge:steven@s.example:2",
    since=NOW - timedelta(days=6),
    to=(STEVEN,),
    reason="Steven has not answered your message of 4 Mar.",
)
STALLED = DueAction(kind=DueKind.STALLED, thread_id="t1", key="t1:stalled", since=NOW - timedelta(days=1))


def parse(raw: bytes) -> EmailMessage:
    """The reminder parsed back."""
    msg = message_from_bytes(raw, policy=policy.default)
    assert isinstance(msg, EmailMessage)
    return msg


def test_reminder_is_from_and_to_the_user_with_markers() -> None:
    """From and To are the user; the marker names the thread; X-Introd-State is the state hash."""
    rem = render_reminder(state(), [NUDGE], intro(), ME, now=NOW)
    msg = parse(rem.raw)
    assert [a.addr_spec for a in msg["From"].addresses] == ["mary@m.example"]
    assert [a.addr_spec for a in msg["To"].addresses] == ["mary@m.example"]
    assert msg["X-Introd-Action"] == "reminder; thread=t1"
    assert msg["X-Introd-State"] == rem.state_hash == state_hash(state(), [NUDGE])
    assert msg["Message-ID"] == f"<{rem.message_id}>" and rem.message_id.endswith("@m.example")
    assert msg["Auto-Submitted"] is None and msg["Bcc"] is None
    assert rem.warnings == ()


def test_reminder_is_threaded_under_the_original() -> None:
    """In-Reply-To and References point at the intro so clients group the reminder with it."""
    msg = parse(render_reminder(state(), [NUDGE], intro(), ME, now=NOW).raw)
    assert msg["In-Reply-To"] == "<intro-1@k.example>"
    assert msg["References"] == "<root@k.example> <intro-1@k.example>"


def test_reminder_without_original_threads_under_the_newest_thread_message() -> None:
    """With no original record the thread's own ids give the threading."""
    msg = parse(render_reminder(state(), [NUDGE], None, ME, now=NOW).raw)
    assert msg["In-Reply-To"] == "<mary-1@m.example>"
    assert msg["References"] == "<root@k.example> <intro-1@k.example> <mary-1@m.example>"


def test_reminder_says_who_waits_on_whom_since_when_and_what_is_proposed() -> None:
    """The body names Steven, the human date, days waiting, the reason and the proposed draft."""
    rem = render_reminder(state(), [NUDGE], intro(), ME, now=NOW)
    body = parse(rem.raw).get_content()
    assert "You have been waiting on Steven Jones <steven@s.example> since Wed 4 Mar 2026 (6 days)" in body
    assert "1 nudge sent" in body
    assert "Why: Steven has not answered your message of 4 Mar." in body
    assert "a last, gentle nudge to Steven Jones <steven@s.example> only, with an explicit out" in body
    assert "Message-ID: <intro-1@k.example>" in body
    assert "Thread: Intro: Mary <> Steven" in body
    assert rem.subject == "[introd] nudge Steven Jones: Intro: Mary <> Steven"
    assert parse(rem.raw)["Subject"] == rem.subject


def test_reply_owed_says_they_wait_on_the_user() -> None:
    """When a reply is owed, the other person is the one waiting."""
    owed = DueAction(DueKind.REPLY_OWED, "t1", "t1:reply_owed:m1", NOW - timedelta(days=1), to=(STEVEN,), bcc=(KATHY,))
    body = parse(render_reminder(state(), [owed], intro(), ME, now=NOW).raw).get_content()
    assert "Steven Jones <steven@s.example> has been waiting on you since Mon 9 Mar 2026 (1 day)." in body
    assert "moves them to Bcc" in body


def test_reminder_only_kinds_say_there_is_no_draft() -> None:
    """A stalled intro is described without a proposed draft."""
    body = parse(render_reminder(state(stage=Stage.STALLED), [STALLED], intro(), ME, now=NOW).raw).get_content()
    assert "No draft" in body
    assert "Proposed draft" not in body
    assert "since Wed 4 Mar 2026 (6 days)" in body


def test_state_hash_is_stable_and_changes_with_the_state() -> None:
    """The same stage and due keys hash the same in any order; a new key or stage changes it."""
    base = state_hash(state(), [NUDGE, STALLED])
    assert base == state_hash(state(), [STALLED, NUDGE])
    assert base != state_hash(state(), [NUDGE])
    assert base != state_hash(state(stage=Stage.STALLED), [NUDGE, STALLED])
    assert base == state_hash(state(last_activity=NOW), [NUDGE, STALLED])


def test_hostile_thread_subject_does_not_inject_headers() -> None:
    """A subject with encoded CR/LF stays inside the Subject field."""
    hostile = "=?utf-8?q?x=0D=0ABcc:_evil@x.example?=\r\nCc: evil@x.example"
    msg = parse(render_reminder(state(subject=hostile), [NUDGE], None, ME, now=NOW).raw)
    assert msg["Bcc"] is None and msg["Cc"] is None
    assert "\n" not in str(msg["Subject"])


def test_user_reminder_template_overrides(tmp_path: Path) -> None:
    """A user reminder.txt is used, with its subject line."""
    (tmp_path / "reminder.txt").write_text("Subject: TODO {{subject}}\n\n{{actions}}\n")
    rem = render_reminder(state(), [NUDGE], intro(), ME, now=NOW, templates_dir=tmp_path)
    msg = parse(rem.raw)
    assert msg["Subject"] == "TODO Intro: Mary <> Steven"
    assert msg.get_content().startswith("- nudge Steven Jones")


@pytest.mark.parametrize("kind", list(DueKind))
def test_every_kind_can_be_reminded(kind: DueKind) -> None:
    """Each due kind renders a reminder with a line for it."""
    act = DueAction(kind, "t1", f"t1:{kind.value}", NOW - timedelta(days=2), to=(STEVEN,))
    body = parse(render_reminder(state(), [act], intro(), ME, now=NOW).raw).get_content()
    assert body.count("\n- ") + body.startswith("- ") == 1
    assert ("(6 days)" if kind is DueKind.STALLED else "(2 days)") in body
