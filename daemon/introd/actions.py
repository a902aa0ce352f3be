"""Decide what to write: due actions + the ledger -> effects (drafts to append, reminders to file, own
messages to remove). Pure: no I/O, the clock comes in as ``now``; ``act.py`` carries the effects out.

The ledger is the memory that keeps every action single: a draft key that was ever planned, written,
dismissed (the user deleted it) or sent is never drafted again.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from introd.drafting import DraftMessage, UserLike, can_draft, render_draft
from introd.intros import IntroAnalysis
from introd.message import Message
from introd.reminders import ReminderMessage, render_reminder, state_hash
from introd.store import LedgerEntry

DRAFT = "draft"
REMINDER = "reminder"

# Ledger statuses.
PLANNED = "planned"  # recorded before the APPEND; confirmed or redone on the next start
DONE = "done"  # in the mailbox now
DISMISSED = "dismissed"  # the user deleted it: never again
SENT = "sent"  # the user sent it (its Message-ID showed up in Sent)
MOVED = "moved"  # a reminder the user moved to a control folder
EDITED = "edited"  # the user changed it: it is the user's message now, introd never touches it
REMOVED = "removed"  # introd removed its own stale or outdated message

# A reminder key in one of these states is not filed again for the same intro state.
_REMINDER_SETTLED = frozenset({PLANNED, DONE, DISMISSED})


@dataclass(frozen=True)
class AppendDraft:
    """Write one reply draft into Drafts."""

    key: str
    thread_id: str
    draft: DraftMessage


@dataclass(frozen=True)
class FileReminder:
    """File the reminder of one intro; then remove the reminders it replaces."""

    key: str
    thread_id: str
    reminder: ReminderMessage
    replaces: tuple[LedgerEntry, ...] = ()


@dataclass(frozen=True)
class RemoveOwn:
    """Remove one of introd's own messages, if it is still there and unedited (the executor checks)."""

    entry: LedgerEntry
    reason: str


Effect = AppendDraft | FileReminder | RemoveOwn


@dataclass(frozen=True)
class Plan:
    """Everything one pass will write, and the drafts held back by ``max_per_pass``."""

    effects: tuple[Effect, ...]
    deferred: int = 0
    warnings: tuple[str, ...] = ()


def reminder_key(thread_id: str, digest: str) -> str:
    """Ledger key of the reminder of one intro in one state."""
    return f"reminder:{thread_id}:{digest}"


def plan_actions(
    analyses: Sequence[IntroAnalysis],
    ledger: Mapping[str, LedgerEntry],
    messages: Mapping[str, Message],
    user: UserLike,
    now: datetime,
    *,
    max_drafts: int,
    templates_dir: Path | None = None,
) -> Plan:
    """The effects that bring the mailbox in line with ``analyses``; never repeats a ledger key."""
    effects: list[Effect] = []
    warnings: list[str] = []
    deferred = 0
    drafted = 0
    by_thread: dict[str, list[LedgerEntry]] = {}
    for entry in ledger.values():
        by_thread.setdefault(entry.thread_id, []).append(entry)

    for analysis in analyses:
        thread = analysis.state.thread_id
        entries = by_thread.get(thread, [])
        due_keys = {a.key for a in analysis.due}
        # Drafts: one per due action that calls for a message, once in a lifetime.
        for action in analysis.due:
            if action.key in ledger or not can_draft(action, analysis.state, user):
                continue
            if drafted >= max_drafts:  # counted, not rendered: a later pass writes it
                deferred += 1
                continue
            original = messages.get(action.reply_to_message_id or "")
            draft = render_draft(action, analysis.state, original, user, templates_dir=templates_dir, now=now)
            assert draft is not None  # can_draft said so
            warnings += [f"{thread}: {w}" for w in draft.warnings]
            drafted += 1
            effects.append(AppendDraft(key=action.key, thread_id=thread, draft=draft))
        # Own drafts the intro moved on without: remove (the executor leaves edited ones alone).
        for entry in entries:
            if entry.kind == DRAFT and entry.status == DONE and entry.key not in due_keys:
                effects.append(RemoveOwn(entry, "the intro moved on without this draft"))
        effects += _reminder_effects(analysis, entries, messages, user, now, templates_dir)
    return Plan(effects=tuple(effects), deferred=deferred, warnings=tuple(warnings))


def _reminder_effects(
    analysis: IntroAnalysis,
    entries: Sequence[LedgerEntry],
    messages: Mapping[str, Message],
    user: UserLike,
    now: datetime,
    templates_dir: Path | None,
) -> list[Effect]:
    """One current reminder per intro with something due; outdated ones go once the new one is filed."""
    filed = [e for e in entries if e.kind == REMINDER and e.status == DONE]
    if not analysis.due:
        return [RemoveOwn(e, "nothing is due on this intro any more") for e in filed]
    key = reminder_key(analysis.state.thread_id, state_hash(analysis.state, analysis.due))
    current = next((e for e in entries if e.key == key), None)
    outdated = tuple(e for e in filed if e.key != key)
    if current is not None and current.status in _REMINDER_SETTLED:
        return [RemoveOwn(e, "replaced by a newer reminder") for e in outdated]
    known = [messages[i] for i in analysis.state.message_ids if i in messages]
    original = max(known, key=lambda m: m.date, default=None)
    reminder = render_reminder(analysis.state, analysis.due, original, user, now=now, templates_dir=templates_dir)
    return [FileReminder(key=key, thread_id=analysis.state.thread_id, reminder=reminder, replaces=outdated)]
