"""One pass over one account: sync headers, fetch candidate bodies, classify, update intros."""

from __future__ import annotations

import json
import logging
from collections import defaultdict
from dataclasses import asdict, dataclass, field
from datetime import datetime

from introd.act import ActFolders, ActReport, controls_from_rows, describe_plan, execute, reconcile, scan_controls
from introd.actions import plan_actions
from introd.classify import Classification, Evidence, Label, classify
from introd.config import AccountConfig, Config
from introd.drafting import User
from introd.errors import MailStoreError
from introd.intros import IntroAnalysis, UserControl, UserIdentity
from introd.mailstore.base import MailStore, SpecialFolders
from introd.mailstore.folders import to_server_path
from introd.message import Message, Skipped, parse_headers, parse_message
from introd.pipeline import analyse_mailbox, select_candidates, with_folder_roles
from introd.store import FolderPosition, StateStore

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
    bodies_fetched: int = 0
    classified: int = 0
    intros: list[IntroAnalysis] = field(default_factory=list)
    act: ActReport = field(default_factory=ActReport)

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


def sync_folder(store: MailStore, state: StateStore, account: str, folder: str, role: str) -> FolderReport:
    """Fetch headers of messages newer than the stored position; resync on a UIDVALIDITY change."""
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
    batch: list[Message] = []
    with state.transaction():
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
            batch.append(parsed)
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


def classify_candidates(store: MailStore, state: StateStore, account: AccountConfig, report: PassReport) -> None:
    """Mark new candidates, fetch their bodies (only theirs) and classify them."""
    addresses = frozenset(account.addresses)
    known = state.candidate_ids(account.name)
    chosen = select_candidates(state.unevaluated(account.name), known, addresses)
    with state.transaction():
        state.mark_evaluated(account.name, chosen)
    report.candidates = len(chosen)
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
        lambda: {mid: classification_from_json(js) for mid, js in state.classifications(account.name).items()},
    )
    user = UserIdentity(addresses=frozenset(account.addresses), name=account.display_name)
    analyses = analyse_mailbox(messages, labels, user, now, config.timing, control)
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


def run_pass(store: MailStore, state: StateStore, config: Config, account: AccountConfig,
             now: datetime, *, dry_run: bool = False) -> PassReport:
    """One full pass over one account (the runner supplies ``now`` and the connection).

    Sync headers, classify new candidates, read the user's controls, notice what happened to introd's
    own messages, compute every intro's state, then write the drafts and reminders that are due
    (with ``dry_run``: only describe them).
    """
    report = PassReport(account=account.name)
    special = store.special_folders()
    roles = watched_folders(store, account)
    existing = set(store.list_folders())
    for folder, role in roles.items():
        if folder in existing or role == "INBOX":
            report.folders.append(sync_folder(store, state, account.name, folder, role))
    classify_candidates(store, state, account, report)
    folders = act_folders(special, config)
    with state.transaction():
        if not dry_run:
            scan_controls(store, state, account.name, folders, now, existing)
            reconcile(store, state, account.name, folders, existing, now, report.act)
        control = controls_from_rows(state.controls(account.name), config.reminders.snooze_days)
    report.intros, messages = analyse_account(state, config, account, roles, now, control)
    ledger = {e.key: e for e in state.ledger(account.name)}
    user = User(name=account.display_name, addresses=account.addresses)
    plan = plan_actions(report.intros, ledger, messages, user, now,
                        max_drafts=config.drafts.max_per_pass, templates_dir=config.drafts.templates)
    for warning in plan.warnings:
        log.warning("%s: %s", account.name, warning)
    if dry_run:
        report.act.planned = describe_plan(plan)
        report.act.deferred = plan.deferred
    else:
        execute(store, state, account.name, plan, folders, existing, now, report.act)
    return report
