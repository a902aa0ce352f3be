"""Carry out a plan against one mail store, with the ledger written before every APPEND.

Also the two reads the plan depends on: which of introd's own messages are still where it put them
(deleted = dismissed, sent, or moved by the user), and which intros the user marked done, muted or
snoozed by moving their reminder into a control folder. introd only ever removes its own messages,
after re-checking their Message-ID and that their bytes are exactly what it wrote.
"""

from __future__ import annotations

import dataclasses
import hashlib
import logging
import re
import sqlite3
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from introd.actions import (
    DISMISSED,
    DONE,
    DRAFT,
    EDITED,
    MOVED,
    PLANNED,
    REMINDER,
    REMOVED,
    SENT,
    AppendDraft,
    FileReminder,
    Plan,
    RemoveOwn,
)
from introd.intros import UserControl
from introd.mailstore.base import MailStore
from introd.message import Skipped, parse_headers
from introd.store import FolderPosition, LedgerEntry, StateStore

log = logging.getLogger(__name__)

DRAFT_FLAGS = ("\\Draft", "\\Seen")
REMINDER_FLAGS: tuple[str, ...] = ()  # unread, so the user notices it
CONTROL_KINDS = ("done", "muted", "snoozed")
_THREAD = re.compile(r"\bthread=(\S+)")


def content_hash(raw: bytes) -> str:
    """sha256 of a message with line endings normalised (stores may hand back CRLF or LF)."""
    return hashlib.sha256(raw.replace(b"\r\n", b"\n")).hexdigest()


@dataclass(frozen=True)
class ActFolders:
    """Where introd writes and where the user's controls live, in the server's own folder names."""

    drafts: str
    reminders: str
    sent: str | None
    controls: Mapping[str, str] = field(default_factory=dict)  # kind (done|muted|snoozed) -> folder


@dataclass
class ActReport:
    """What one pass wrote, removed, or noticed the user did."""

    drafts: list[str] = field(default_factory=list)  # "kind: subject" of each draft written
    reminders: int = 0
    removed: int = 0
    left_alone: int = 0  # own messages the user edited
    dismissed: int = 0
    sent: int = 0
    deferred: int = 0
    planned: list[str] = field(default_factory=list)  # --dry-run: what would have been done


# -- reading the user's decisions ------------------------------------------------------------------------


def scan_controls(store: MailStore, state: StateStore, account: str, folders: ActFolders, now: datetime,
                  existing: set[str]) -> None:
    """Update the controls table from the control folders (cheap when they did not change)."""
    for kind, folder in folders.controls.items():
        known = state.controls(account, folder)
        if folder not in existing:
            state.remove_controls(account, folder, [r["uid"] for r in known])
            continue
        if known:  # the user may have moved a reminder back out: forget those
            present = store.fetch_flags(folder, [r["uid"] for r in known])
            state.remove_controls(account, folder, [r["uid"] for r in known if r["uid"] not in present])
        after = max((r["uid"] for r in known), default=0)
        position_key = f"control:{folder}"
        pos = state.folder_position(account, position_key)
        status = store.status(folder)
        if pos is not None and pos.uidvalidity == status.uidvalidity:
            if status.uidnext == pos.uidnext:
                continue
            after = max(after, pos.last_uid)
        last = after
        for fetched in store.fetch_headers(folder, after):
            last = max(last, fetched.uid)
            parsed = parse_headers(fetched.header_bytes, folder=folder, uid=fetched.uid)
            if isinstance(parsed, Skipped):
                continue
            marker = parsed.header("X-Introd-Action") or ""
            match = _THREAD.search(marker)
            if marker.startswith("reminder") and match:
                state.add_control(account, folder, fetched.uid, match.group(1), kind, parsed.message_id, now)
        state.set_folder_position(account, position_key,
                                  FolderPosition(status.uidvalidity, last, status.uidnext, None))


def controls_from_rows(rows: Iterable[sqlite3.Row], snooze_days: int) -> UserControl:
    """The UserControl the control rows stand for (snoozes last ``snooze_days`` from when first seen)."""
    done: set[str] = set()
    muted: set[str] = set()
    handled: set[str] = set()
    snoozed: dict[str, datetime] = {}
    for row in rows:
        thread, kind = str(row["thread_id"]), str(row["kind"])
        if kind == "done":
            done.add(thread)
        elif kind == "muted":
            muted.add(thread)
        elif kind == "handled":
            handled.add(thread)
        elif kind == "snoozed":
            until = datetime.fromisoformat(str(row["seen"])) + timedelta(days=snooze_days)
            snoozed[thread] = max(until, snoozed.get(thread, until))
    return UserControl(done=frozenset(done), muted=frozenset(muted), snoozed=snoozed, handled=frozenset(handled))


def reconcile(store: MailStore, state: StateStore, account: str, folders: ActFolders, existing: set[str],
              now: datetime, report: ActReport) -> None:
    """Finish APPENDs a crash interrupted, and notice own messages the user deleted, sent, moved or flagged.

    A reminder the user flagged (\\Flagged: "I'll handle this one myself") is remembered as a lasting
    "handled" control for its intro: no more reply drafts for it, whatever happens to that reminder.
    """
    by_folder: dict[str, list[LedgerEntry]] = {}
    for entry in state.ledger(account):
        if entry.status == PLANNED and entry.folder and entry.message_id:
            entry = _finish_append(store, state, account, entry, now)
        if entry.status == DONE and entry.folder and entry.uid is not None:
            by_folder.setdefault(entry.folder, []).append(entry)
    moved = {str(r["message_id"]) for r in state.controls(account)}
    for folder, entries in by_folder.items():
        present = store.fetch_flags(folder, [e.uid for e in entries if e.uid is not None]) \
            if folder in existing else {}
        for entry in entries:
            if entry.uid in present:
                if entry.kind == REMINDER and "\\Flagged" in present[entry.uid] and entry.message_id:
                    state.add_control(account, folder, entry.uid, entry.thread_id, "handled", entry.message_id, now)
                continue
            status = _gone_status(state, account, entry, folders, moved)
            state.ledger_put(account, dataclasses.replace(entry, status=status))
            if status == SENT:
                report.sent += 1
            elif status == DISMISSED:
                report.dismissed += 1
            log.info("%s: %s %s: %s by the user", account, entry.kind, entry.key, status)


def _gone_status(state: StateStore, account: str, entry: LedgerEntry, folders: ActFolders,
                 moved: set[str]) -> str:
    """Why one of introd's messages is no longer where introd put it."""
    if entry.message_id and entry.message_id in moved:
        return MOVED
    if entry.kind == DRAFT and entry.message_id and folders.sent and any(
        m.folder == folders.sent for m in state.messages_by_id(account, entry.message_id)
    ):
        return SENT
    return DISMISSED


def _finish_append(store: MailStore, state: StateStore, account: str, entry: LedgerEntry,
                   now: datetime) -> LedgerEntry:
    """A ledger entry recorded before an APPEND that may not have happened: confirm it, or append now.

    Returns the entry as the ledger now holds it.
    """
    assert entry.folder and entry.message_id
    found = store.find_message_id(entry.folder, entry.message_id)
    if found:
        done = dataclasses.replace(entry, status=DONE, uid=max(found), raw=None)
        state.ledger_put(account, done)
        log.info("%s: confirmed %s %s after an interrupted pass", account, entry.kind, entry.key)
        return done
    if entry.raw is None:
        dismissed = dataclasses.replace(entry, status=DISMISSED)
        state.ledger_put(account, dismissed)
        return dismissed
    done = _append(store, state, account, entry, now)
    log.info("%s: redid the interrupted APPEND of %s %s", account, entry.kind, entry.key)
    return done


# -- carrying out a plan -----------------------------------------------------------------------------------


def execute(store: MailStore, state: StateStore, account: str, plan: Plan, folders: ActFolders,
            existing: set[str], now: datetime, report: ActReport) -> None:
    """Carry out ``plan``: ledger first, then the mailbox, then the ledger again."""
    report.deferred = plan.deferred
    for effect in plan.effects:
        if isinstance(effect, AppendDraft):
            d = effect.draft
            _write_own(store, state, account, LedgerEntry(effect.key, DRAFT, effect.thread_id, PLANNED, d.message_id,
                                                          folders.drafts, raw=d.raw), existing, now)
            report.drafts.append(f"{d.kind.value}: {d.subject}")
        elif isinstance(effect, FileReminder):
            r = effect.reminder
            _write_own(store, state, account, LedgerEntry(effect.key, REMINDER, effect.thread_id, PLANNED,
                                                          r.message_id, folders.reminders, raw=r.raw), existing, now)
            report.reminders += 1
            for old in effect.replaces:  # append the new one first, then remove only introd's old one
                _remove_own(store, state, account, old, report)
        elif isinstance(effect, RemoveOwn):
            _remove_own(store, state, account, effect.entry, report)


def _write_own(store: MailStore, state: StateStore, account: str, entry: LedgerEntry, existing: set[str],
               now: datetime) -> None:
    """Append one of introd's messages (its folder created when missing), recorded in the ledger first."""
    assert entry.folder and entry.raw is not None
    if entry.folder not in existing:
        store.ensure_folder(entry.folder)
        existing.add(entry.folder)
    entry = dataclasses.replace(entry, content_hash=content_hash(entry.raw))
    _append(store, state, account, entry, now)


def describe_plan(plan: Plan) -> list[str]:
    """One line per effect, for --dry-run."""
    lines = []
    for effect in plan.effects:
        if isinstance(effect, AppendDraft):
            lines.append(f"would write a {effect.draft.kind.value} draft: {effect.draft.subject}")
        elif isinstance(effect, FileReminder):
            lines.append(f"would file a reminder: {effect.reminder.subject}")
        else:
            lines.append(f"would remove own {effect.entry.kind} {effect.entry.key}: {effect.reason}")
    if plan.deferred:
        lines.append(f"{plan.deferred} more drafts held back by [drafts] max_per_pass")
    return lines


def _append(store: MailStore, state: StateStore, account: str, entry: LedgerEntry, now: datetime) -> LedgerEntry:
    """Ledger (planned, with the bytes), APPEND, ledger (done, with the UID); returns the done entry."""
    assert entry.folder and entry.message_id and entry.raw is not None
    state.ledger_put(account, entry)  # before the APPEND: a crash now is repaired by reconcile()
    flags = DRAFT_FLAGS if entry.kind == DRAFT else REMINDER_FLAGS
    uid = store.append(entry.folder, entry.raw, flags, now)
    if uid is None:
        found = store.find_message_id(entry.folder, entry.message_id)
        uid = max(found) if found else None
    done = dataclasses.replace(entry, status=DONE, uid=uid, raw=None)
    state.ledger_put(account, done)
    log.debug("%s: appended %s %s to %s (UID %s)", account, entry.kind, entry.key, entry.folder, uid)
    return done


def _remove_own(store: MailStore, state: StateStore, account: str, entry: LedgerEntry,
                report: ActReport) -> None:
    """Remove one own message only if it is still exactly what introd wrote."""
    if entry.status != DONE or entry.folder is None or entry.uid is None or entry.message_id is None:
        return
    current = dict(store.fetch_messages(entry.folder, [entry.uid]))
    if entry.uid not in current:
        state.ledger_put(account, dataclasses.replace(entry, status=DISMISSED))
        return
    if content_hash(current[entry.uid]) != entry.content_hash:
        state.ledger_put(account, dataclasses.replace(entry, status=EDITED))
        report.left_alone += 1
        log.info("%s: left %s %s alone: the user edited it", account, entry.kind, entry.key)
        return
    if store.delete_own(entry.folder, entry.uid, entry.message_id):
        report.removed += 1
    state.ledger_put(account, dataclasses.replace(entry, status=REMOVED))
