"""One pass over one account: sync headers, fetch candidate bodies, classify, update intros."""

from __future__ import annotations

import hashlib
import json
import logging
from collections import defaultdict
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta, timezone

from introd.act import ActFolders, ActReport, controls_from_rows, describe_plan, execute, reconcile, scan_controls
from introd.actions import plan_actions
from introd.backoff import anchors as intro_anchors
from introd.backoff import next_due_check
from introd.classify import Classification, Evidence, Label, classify, prefilter
from introd.config import AccountConfig, Config
from introd.drafting import User
from introd.errors import MailStoreError
from introd.intros import IntroAnalysis, UserControl, UserIdentity
from introd.mailstore.base import MailStore, SpecialFolders
from introd.mailstore.folders import to_server_path
from introd.message import Message, Skipped, parse_headers, parse_message
from introd.pipeline import analyse_mailbox, dormant_keys, select_candidates, with_folder_roles
from introd.store import FolderPosition, IndexEntry, StateStore

log = logging.getLogger(__name__)

BODY_BATCH = 50


@dataclass
class FolderReport:
    """What one folder's sync did."""

    folder: str
    role: str
    new: int = 0
    skipped: int = 0
    resynced: bool = False
    unchanged: bool = False


@dataclass
class PassReport:
    """What one pass over one account did; printed by `run --once` and kept for `status`."""

    account: str
    folders: list[FolderReport] = field(default_factory=list)
    candidates: int = 0
    dormant: int = 0  # new candidates older than the history window: indexed, not fetched
    woken: int = 0  # dormant candidates a new message brought back
    bodies_fetched: int = 0
    classified: int = 0
    intros: list[IntroAnalysis] = field(default_factory=list)
    act: ActReport = field(default_factory=ActReport)
    quiet: bool = False  # nothing changed and nothing came due: the pass stopped after the STATUS checks
    next_check: datetime | None = None  # when a day threshold or a snooze could next make something due

    @property
    def new_messages(self) -> int:
        """Header records added in this pass."""
        return sum(f.new for f in self.folders)


def watched_folders(store: MailStore, account: AccountConfig) -> dict[str, str]:
    """Folder name -> role (INBOX, Sent, Drafts, or the name itself) for every folder this pass reads."""
    special = store.special_folders()
    roles: dict[str, str] = {}
    for name in account.watch:
        roles[special.inbox if name.upper() == "INBOX" else name] = "INBOX" if name.upper() == "INBOX" else name
    if special.sent:
        roles[special.sent] = "Sent"
    if special.drafts:
        roles[special.drafts] = "Drafts"
    return roles


def sync_folder(store: MailStore, state: StateStore, account: str, folder: str, role: str,
                addresses: frozenset[str] = frozenset()) -> FolderReport:
    """Fetch headers of messages newer than the stored position and index them with the prefilter's verdict
    (``addresses``: the user's); resync on a UIDVALIDITY change."""
    report = FolderReport(folder=folder, role=role)
    status = store.status(folder)
    pos = state.folder_position(account, folder)
    after = 0
    if pos is not None and pos.uidvalidity != status.uidvalidity:
        log.warning("%s/%s: UIDVALIDITY changed (%d -> %d): resyncing the folder",
                    account, folder, pos.uidvalidity, status.uidvalidity)
        state.reset_folder(account, folder)
        report.resynced = True
    elif pos is not None:
        after = pos.last_uid
        unchanged_modseq = status.highestmodseq is None or status.highestmodseq == pos.highestmodseq
        if status.uidnext == pos.uidnext and unchanged_modseq:
            report.unchanged = True
            return report
    last_uid = after
    batch: list[IndexEntry] = []
    with state.transaction():
        # Something changed: the next pass must not be taken for quiet, even if this one is killed before it
        # acts on what it indexes here (the folder position is committed with the new rows).
        state.set_pass_mark(account, QUIET_SIGNATURE, None)
        for fetched in store.fetch_headers(folder, after):
            last_uid = max(last_uid, fetched.uid)
            parsed = parse_headers(
                fetched.header_bytes, folder=folder, uid=fetched.uid, internaldate=fetched.internaldate,
                flags=fetched.flags, gm_thread_id=fetched.gm_thread_id,
            )
            if isinstance(parsed, Skipped):
                state.add_skipped(account, parsed)
                report.skipped += 1
                log.info("%s/%s: skipped UID %s: %s", account, folder, fetched.uid, parsed.reason)
                continue
            if role == "Drafts" and parsed.header("X-Introd-Action"):
                continue  # introd's own unsent draft: not the user's words (its Sent copy is indexed)
            batch.append(IndexEntry(parsed, prefilter(parsed, addresses), fetched.internaldate))
            if len(batch) >= 1000:
                report.new += state.add_messages(account, batch)
                batch.clear()
        report.new += state.add_messages(account, batch)
        state.set_folder_position(
            account, folder,
            FolderPosition(status.uidvalidity, last_uid, max(status.uidnext, last_uid + 1), status.highestmodseq),
        )
    return report


def classification_to_json(c: Classification) -> str:
    """Serialise a Classification for the state store."""
    return json.dumps(asdict(c), ensure_ascii=False, default=str)


def classification_from_json(text: str) -> Classification:
    """Rebuild a Classification stored by classification_to_json."""
    data = json.loads(text)
    evidence = tuple(
        Evidence(rule=e["rule"], label=Label(e["label"]) if e["label"] else None, text=e["text"])
        for e in data.pop("evidence")
    )
    known = Classification.__dataclass_fields__
    return Classification(
        **{k: v for k, v in data.items() if k in known and k not in ("label", "also")},
        label=Label(data["label"]),
        also=tuple(Label(x) for x in data["also"]),
        evidence=evidence,
    )


def classify_candidates(store: MailStore, state: StateStore, account: AccountConfig, report: PassReport,
                        now: datetime, history_days: int = 0) -> None:
    """Choose new candidates, fetch their bodies (only theirs) and classify them.

    A candidate thread whose newest message is older than ``history_days`` (0: no limit) is left dormant:
    indexed, not fetched, until a new message links into it.
    """
    addresses = frozenset(account.addresses)
    chosen = select_candidates(state.unevaluated(account.name, selectable_only=True),
                               state.candidate_ids(account.name))
    sleeping: set[tuple[str, int]] = set()
    woken: list[tuple[str, int]] = []
    if history_days and chosen:
        cutoff = (now - timedelta(days=history_days)).astimezone(timezone.utc).isoformat()
        rows = chosen
        if state.any_dormant(account.name, [r.message_id for r in chosen] + [x for r in chosen for x in r.refs]):
            old = state.dormant(account.name)
            rows = chosen + old
            woken = [r.key for r in old]
        sleeping = dormant_keys(rows, cutoff, state.candidate_ids(account.name, active_only=True))
        woken = [k for k in woken if k not in sleeping]
    with state.transaction():
        state.mark_evaluated(account.name, [r.key for r in chosen if r.key not in sleeping],
                             [r.key for r in chosen if r.key in sleeping])
        state.wake(account.name, woken)
    report.candidates = len(chosen) - len(sleeping)
    report.dormant = len(sleeping)
    report.woken = len(woken)
    by_folder: dict[str, list[Message]] = defaultdict(list)
    for msg in state.unclassified_candidates(account.name):
        by_folder[msg.folder].append(msg)
    for folder, msgs in by_folder.items():
        headers = {m.uid: m for m in msgs}
        uids = [m.uid for m in msgs if m.uid is not None]
        for start in range(0, len(uids), BODY_BATCH):
            with state.transaction():
                for uid, raw in store.fetch_messages(folder, uids[start:start + BODY_BATCH]):
                    report.bodies_fetched += 1
                    head = headers[uid]
                    full = parse_message(raw, folder=folder, uid=uid, internaldate=head.date, flags=head.flags,
                                         gm_thread_id=head.gm_thread_id)
                    if isinstance(full, Skipped):
                        state.add_skipped(account.name, full)
                        full = head  # classify what the headers say rather than lose the message
                    decision = classify(full, addresses)
                    state.save_classification(account.name, full, decision.label.value,
                                              classification_to_json(decision))
                    report.classified += 1


def analyse_account(state: StateStore, config: Config, account: AccountConfig, roles: dict[str, str],
                    now: datetime, control: UserControl | None = None
                    ) -> tuple[list[IntroAnalysis], dict[str, Message]]:
    """Compute and store every intro's state and due actions; also return the candidates by Message-ID."""
    # Reused between the daemon's passes while no message record changed (StateStore.cached).
    messages = state.cached(
        f"candidates {account.name} {sorted(roles.items())}",
        lambda: with_folder_roles(state.messages(account.name, candidates_only=True), roles),
    )
    labels = state.cached(
        f"labels {account.name}",
        lambda: state.decoded_classifications(account.name, classification_from_json),
    )
    user = UserIdentity(addresses=frozenset(account.addresses), name=account.display_name)
    inputs = (messages, labels, user, config.timing, control)
    last = state.analysis_memo.get(account.name)
    if last is not None and _same_inputs(last.inputs, inputs) and now < last.valid_until:
        # Nothing the analysis reads changed and no day threshold was crossed: the same intros and due
        # actions (what a quiet pass relies on too), without threading every candidate again.
        analyses = last.analyses
    else:
        analyses = analyse_mailbox(messages, labels, user, now, config.timing, control)
        state.analysis_memo[account.name] = AnalysisMemo(inputs, analyses, now)  # valid_until set by run_pass
    written: dict[tuple[str, str], object] = {}
    with state.transaction():
        for item in analyses:
            s = item.state
            # A long-lived process skips the JSON and the write for intros unchanged since its last pass.
            memo_key, memo_value = (account.name, s.thread_id), (s, item.due)
            if state.intro_memo.get(memo_key) == memo_value:
                continue
            written[memo_key] = memo_value
            state.save_intro(
                account.name, s.thread_id, s.stage.value, s.role.value, s.subject,
                json.dumps(asdict(s), default=str, ensure_ascii=False),
                json.dumps([asdict(d) for d in item.due], default=str, ensure_ascii=False),
            )
    state.intro_memo.update(written)  # only once committed
    return analyses, {m.message_id: m for m in messages}


@dataclass
class AnalysisMemo:
    """The last analysis of an account in this process: its inputs (candidate records, labels, user, timing,
    controls), its result, and until when it holds (the pass's next_check: no day threshold before)."""

    inputs: tuple[object, ...]
    analyses: list[IntroAnalysis]
    valid_until: datetime


def _same_inputs(a: tuple[object, ...], b: tuple[object, ...]) -> bool:
    """The record lists and labels are the very objects StateStore.cached handed out (unchanged rows); the
    user, timing and controls compare by value."""
    return a[0] is b[0] and a[1] is b[1] and a[2:] == b[2:]


def act_folders(special: SpecialFolders, config: Config) -> ActFolders:
    """Drafts, reminders and control folders in the server's own names (its hierarchy delimiter)."""
    delimiter = special.delimiter or None
    cfg = config.reminders

    def server(path: str, key: str) -> str:
        try:
            return to_server_path(path, delimiter)
        except ValueError as exc:
            raise MailStoreError(f"[reminders] {key} = {path!r}: {exc}") from None

    return ActFolders(
        drafts=special.drafts or server("Drafts", "drafts folder"),
        reminders=server(cfg.folder, "folder"),
        sent=special.sent,
        controls={"done": server(cfg.done_folder, "done_folder"),
                  "muted": server(cfg.muted_folder, "muted_folder"),
                  "snoozed": server(cfg.snoozed_folder, "snoozed_folder")},
    )


QUIET_SIGNATURE = "quiet signature"
QUIET_UNTIL = "quiet until"


def _quiet_signature(store: MailStore, config: Config, folders: ActFolders, existing: set[str]) -> str | None:
    """The drafts, reminders and control folders as they are (STATUS with HIGHESTMODSEQ, so a flag change or
    a move counts) and the settings; None when the server cannot tell (no CONDSTORE)."""
    parts = [hashlib.sha256(repr(config).encode()).hexdigest()[:16]]
    for name in sorted({folders.drafts, folders.reminders, *folders.controls.values()}):
        if name not in existing:
            parts.append(f"{name}:-")
            continue
        status = store.status(name)
        if status.highestmodseq is None:
            return None
        parts.append(f"{name}:{status.uidvalidity}:{status.uidnext}:{status.exists}:{status.highestmodseq}")
    return "|".join(parts)


def _next_check(config: Config, report: PassReport, control: UserControl, now: datetime) -> datetime:
    """The first instant after ``now`` at which a day threshold or a snooze could make something due."""
    snoozes = [t for t in control.snoozed.values() if t > now]
    return next_due_check(now, config.daemon.due_check_interval, config.timing, intro_anchors(report.intros),
                          snoozes)


def run_pass(store: MailStore, state: StateStore, config: Config, account: AccountConfig,
             now: datetime, *, dry_run: bool = False) -> PassReport:
    """One full pass over one account (the runner supplies ``now`` and the connection).

    Sync headers, classify new candidates, read the user's controls, notice what happened to introd's
    own messages, compute every intro's state, then write the drafts and reminders that are due
    (with ``dry_run``: only describe them).

    A quiet pass stops after the STATUS checks: nothing changed in any folder introd reads or writes, the
    settings are the same, the last full pass finished everything it planned, and no day threshold has been
    crossed since (``report.quiet``; ``report.next_check`` is when one will be).
    """
    report = PassReport(account=account.name)
    special = store.special_folders()
    roles = watched_folders(store, account)
    existing = set(store.list_folders())
    for folder, role in roles.items():
        if folder in existing or role == "INBOX":
            report.folders.append(sync_folder(store, state, account.name, folder, role,
                                              frozenset(account.addresses)))
    folders = act_folders(special, config)
    # Taken before anything is read or written: a change after this point makes the next pass a full one.
    signature = None if dry_run else _quiet_signature(store, config, folders, existing)
    until = state.pass_mark(account.name, QUIET_UNTIL)
    if (signature is not None and all(f.unchanged for f in report.folders)
            and signature == state.pass_mark(account.name, QUIET_SIGNATURE)
            and until is not None and now < datetime.fromisoformat(until)
            and not state.ledger_in_flight(account.name)):
        report.quiet = True
        report.next_check = datetime.fromisoformat(until)
        return report
    classify_candidates(store, state, account, report, now, config.timing.history_days)
    with state.transaction():
        if not dry_run:
            scan_controls(store, state, account.name, folders, now, existing)
            reconcile(store, state, account.name, folders, existing, now, report.act)
        control = controls_from_rows(state.controls(account.name), config.reminders.snooze_days)
    report.intros, messages = analyse_account(state, config, account, roles, now, control)
    report.next_check = _next_check(config, report, control, now)
    memo = state.analysis_memo.get(account.name)
    if memo is not None and memo.analyses is report.intros:
        memo.valid_until = min(memo.valid_until, report.next_check) if memo.valid_until > now else report.next_check
    ledger = {e.key: e for e in state.ledger(account.name)}
    user = User(name=account.display_name, addresses=account.addresses)
    plan = plan_actions(report.intros, ledger, messages, user, now,
                        max_drafts=config.drafts.max_per_pass, templates_dir=config.drafts.templates)
    for warning in plan.warnings:
        log.warning("%s: %s", account.name, warning)
    if dry_run:
        report.act.planned = describe_plan(plan)
        report.act.deferred = plan.deferred
        return report
    execute(store, state, account.name, plan, folders, existing, now, report.act)
    # Anything this pass appended changes a folder's STATUS, so the next pass will not take it for quiet.
    quiet = signature is not None and not report.act.deferred and not state.ledger_in_flight(account.name)
    with state.transaction():
        state.set_pass_mark(account.name, QUIET_SIGNATURE, signature if quiet else None)
        state.set_pass_mark(account.name, QUIET_UNTIL, report.next_check.isoformat() if quiet else None)
    return report
