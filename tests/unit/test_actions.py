"""The planner: due actions + the ledger -> drafts, reminders and removals, never the same action twice."""

from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta, timezone

from introd.actions import (
    DISMISSED,
    DONE,
    DRAFT,
    MOVED,
    REMINDER,
    SENT,
    AppendDraft,
    FileReminder,
    RemoveOwn,
    plan_actions,
    reminder_key,
)
from introd.drafting import User
from introd.intros import DueAction, DueKind, IntroAnalysis, IntroState, Role, Stage
from introd.message import Address, Message
from introd.reminders import state_hash
from introd.store import LedgerEntry

NOW = datetime(2026, 3, 10, 9, 0, tzinfo=timezone.utc)
USER = User(name="Steven Jones", addresses=("steven@jones.example",))
KATHY = Address("Kathy Lee", "kathy@lee.example")
MARY = Address("Mary Smith", "mary@smith.example")
STEVEN = Address("Steven Jones", "steven@jones.example")
INTRO = Message(message_id="intro-1@lee.example", subject="Mary <> Steven", date=NOW - timedelta(days=3),
                sender=KATHY, to=(MARY, STEVEN), has_body=True, new_text="Mary, meet Steven. Steven, meet Mary.")


def analysis(*kinds: DueKind, thread: str = "intro-1@lee.example", stage: Stage = Stage.INTRODUCED) -> IntroAnalysis:
    state = IntroState(thread_id=thread, subject=INTRO.subject, stage=stage, role=Role.INTRODUCED,
                       introducer=KATHY, parties=(MARY, STEVEN), started=INTRO.date, last_activity=INTRO.date,
                       message_ids=(INTRO.message_id,))
    due = tuple(DueAction(kind=k, thread_id=thread, key=f"{thread}:{k.value}", since=INTRO.date, to=(MARY,),
                          bcc=(KATHY,), reply_to_message_id=INTRO.message_id, reason="test") for k in kinds)
    return IntroAnalysis(state=state, due=due)


def plan(analyses: list[IntroAnalysis], ledger: dict[str, LedgerEntry] | None = None, max_drafts: int = 20):  # type: ignore[no-untyped-def]
    return plan_actions(analyses, ledger or {}, {INTRO.message_id: INTRO}, USER, NOW, max_drafts=max_drafts)


def entry(key: str, kind: str, status: str, thread: str = "intro-1@lee.example") -> LedgerEntry:
    return LedgerEntry(key=key, kind=kind, thread_id=thread, status=status, message_id=f"{key}@x", folder="F",
                       uid=7, content_hash="h")


def test_one_draft_per_due_action_and_one_reminder_per_intro() -> None:
    """A no_optin and a channel_switch make two drafts and one reminder naming the thread."""
    p = plan([analysis(DueKind.NO_OPTIN, DueKind.CHANNEL_SWITCH)])
    drafts = [e for e in p.effects if isinstance(e, AppendDraft)]
    reminders = [e for e in p.effects if isinstance(e, FileReminder)]
    assert sorted(d.draft.kind.value for d in drafts) == ["channel_switch", "no_optin"]
    assert len(reminders) == 1 and reminders[0].thread_id == "intro-1@lee.example"
    assert all(b"X-Introd-Action:" in d.draft.raw for d in drafts)


def test_reminder_only_kinds_make_no_draft() -> None:
    """stalled and move_on are told in a reminder, never drafted."""
    p = plan([analysis(DueKind.STALLED, DueKind.MOVE_ON, stage=Stage.DEAD)])
    assert not [e for e in p.effects if isinstance(e, AppendDraft)]
    assert len([e for e in p.effects if isinstance(e, FileReminder)]) == 1


def test_a_key_in_the_ledger_is_never_drafted_again_whatever_its_status() -> None:
    """Planned, written, dismissed or sent: a draft key is acted on once in a lifetime."""
    for status in ("planned", DONE, DISMISSED, SENT, "edited", "removed"):
        key = "intro-1@lee.example:no_optin"
        p = plan([analysis(DueKind.NO_OPTIN)], {key: entry(key, DRAFT, status)})
        assert not [e for e in p.effects if isinstance(e, AppendDraft)], status


def test_max_drafts_holds_the_rest_back() -> None:
    """Over the per-pass cap, drafts are deferred (counted), not written."""
    p = plan([analysis(DueKind.NO_OPTIN, DueKind.CHANNEL_SWITCH)], max_drafts=1)
    assert len([e for e in p.effects if isinstance(e, AppendDraft)]) == 1
    assert p.deferred == 1


def test_a_written_draft_that_is_no_longer_due_is_withdrawn() -> None:
    """A draft introd wrote whose action is no longer due is planned for removal (only its own)."""
    key = "intro-1@lee.example:no_optin"
    p = plan([analysis(stage=Stage.CONNECTED)], {key: entry(key, DRAFT, DONE)})
    removals = [e for e in p.effects if isinstance(e, RemoveOwn)]
    assert [r.entry.key for r in removals] == [key]


def test_dismissed_or_sent_drafts_are_not_removed_again() -> None:
    """Only drafts still in place (done) are candidates for removal."""
    key = "intro-1@lee.example:no_optin"
    for status in (DISMISSED, SENT):
        p = plan([analysis(stage=Stage.CONNECTED)], {key: entry(key, DRAFT, status)})
        assert not [e for e in p.effects if isinstance(e, RemoveOwn)]


def current_reminder_key(a: IntroAnalysis) -> str:
    return reminder_key(a.state.thread_id, state_hash(a.state, a.due))


def test_a_current_reminder_is_not_filed_twice() -> None:
    """When the ledger already holds the reminder for this exact state, nothing is filed."""
    a = analysis(DueKind.STALLED, stage=Stage.STALLED)
    key = current_reminder_key(a)
    for status in (DONE, DISMISSED):
        p = plan([a], {key: entry(key, REMINDER, status)})
        assert not [e for e in p.effects if isinstance(e, FileReminder)], status


def test_a_changed_state_files_a_new_reminder_replacing_the_old() -> None:
    """A new state files a new reminder whose effect lists the old one to remove afterwards."""
    old = entry("reminder:intro-1@lee.example:old", REMINDER, DONE)
    p = plan([analysis(DueKind.NUDGE)], {old.key: old})
    (filed,) = [e for e in p.effects if isinstance(e, FileReminder)]
    assert filed.replaces == (old,)
    assert filed.key != old.key


def test_nothing_due_removes_the_reminder() -> None:
    """An intro with nothing due keeps no reminder."""
    old = entry("reminder:intro-1@lee.example:old", REMINDER, DONE)
    p = plan([analysis(stage=Stage.CONNECTED)], {old.key: old})
    assert [e.entry.key for e in p.effects if isinstance(e, RemoveOwn)] == [old.key]


def test_a_snoozed_reminder_comes_back_when_the_intro_is_due_again() -> None:
    """A reminder the user moved to a control folder is filed anew once its intro is due again."""
    a = analysis(DueKind.NUDGE)
    key = current_reminder_key(a)
    p = plan([a], {key: dataclasses.replace(entry(key, REMINDER, MOVED))})
    assert len([e for e in p.effects if isinstance(e, FileReminder)]) == 1
