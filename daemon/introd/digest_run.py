"""Send the weekly digest when it is due: state store -> digest -> SMTP, or the reminders folder.

Exactly one digest per period and account: the ledger key ``digest:<account>:<period>`` is written (status
``planned``, with the message) *before* the SMTP session, so a restart at the scheduled minute finds it and
never sends again. A ``planned`` entry found later means introd stopped mid-send: the digest is then filed
in the reminders folder (if it is not there already) rather than risk a second email. When SMTP fails after
its retries, or no [smtp] host is configured, the digest is filed too, so it is never lost.

Ledger statuses of a digest: ``planned`` (in flight), ``sent``, ``filed`` (in the reminders folder), ``failed``
(neither worked; filing is retried on the next call).
"""

from __future__ import annotations

import dataclasses
import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from introd import smtp
from introd.act import REMINDER_FLAGS, content_hash
from introd.config import AccountConfig, Config
from introd.digest import Digest, build_digest, compose_digest
from introd.digest_schedule import Period, current_period, due_period
from introd.drafting import User
from introd.errors import IntrodError
from introd.intro_model import DueAction, DueKind, IntroAnalysis, IntroState, Role, Stage
from introd.mailstore.base import MailStore
from introd.message import Address
from introd.store import LedgerEntry, StateStore

log = logging.getLogger(__name__)

DIGEST = "digest"  # ledger kind (and thread_id: a digest belongs to no thread)
PLANNED = "planned"
SENT = "sent"
FILED = "filed"
FAILED = "failed"
# Outcomes that did not touch anything.
NOT_DUE = "not_due"
DISABLED = "disabled"


@dataclass(frozen=True)
class DigestOutcome:
    """What ``send_due_digest`` did for one account."""

    account: str
    status: str  # not_due | disabled | sent | filed | failed
    period: str | None = None
    recipients: tuple[str, ...] = ()
    folder: str | None = None  # the reminders folder, when filed
    message_id: str | None = None
    error: str | None = None  # why SMTP (or filing) failed


def digest_key(account: str, period_id: str) -> str:
    """The ledger key of one account's digest for one period."""
    return f"digest:{account}:{period_id}"


# -- reading the state store -------------------------------------------------------------------------------


def _when(value: Any) -> datetime:
    return datetime.fromisoformat(str(value))


def _addr(raw: Any) -> Address:
    return Address(name=str(raw.get("name", "")), email=str(raw.get("email", "")))


def intro_from_row(state_json: str, due_json: str) -> IntroAnalysis:
    """Rebuild an IntroAnalysis from the JSON ``sync.analyse_account`` stores in the intros table."""
    s = json.loads(state_json)
    state = IntroState(
        thread_id=s["thread_id"], subject=s.get("subject", ""), stage=Stage(s["stage"]), role=Role(s["role"]),
        introducer=_addr(s["introducer"]) if s.get("introducer") else None,
        parties=tuple(_addr(p) for p in s.get("parties", [])),
        started=_when(s["started"]), last_activity=_when(s["last_activity"]),
        last_written={k: _when(v) for k, v in s.get("last_written", {}).items()},
        asked_first=dict(s.get("asked_first", {})), agreed=dict(s.get("agreed", {})),
        nudges_sent=dict(s.get("nudges_sent", {})), message_ids=tuple(s.get("message_ids", [])),
        connected_at=_when(s["connected_at"]) if s.get("connected_at") else None,
    )
    due = tuple(
        DueAction(kind=DueKind(d["kind"]), thread_id=d["thread_id"], key=d["key"], since=_when(d["since"]),
                  to=tuple(_addr(a) for a in d.get("to", [])), bcc=tuple(_addr(a) for a in d.get("bcc", [])),
                  reply_to_message_id=d.get("reply_to_message_id"), reason=d.get("reason", ""))
        for d in json.loads(due_json)
    )
    return IntroAnalysis(state, due)


def load_analyses(state: StateStore, account: str) -> list[IntroAnalysis]:
    """Every intro of ``account`` as the last pass left it; rows that no longer parse are skipped."""
    out = []
    for row in state.intros(account):
        try:
            out.append(intro_from_row(row["state"], row["due"]))
        except (KeyError, ValueError, TypeError) as exc:
            log.warning("%s: intro %s left out of the digest: unreadable state (%s)", account, row["thread_id"], exc)
    return out


def _digest_rows(state: StateStore, account: str) -> list[Any]:
    return list(state.db.execute(
        "SELECT key, status, folder, message_id, updated FROM ledger WHERE account=? AND kind=? ORDER BY key",
        (account, DIGEST)))


def last_period(state: StateStore, account: str) -> str | None:
    """The latest period whose digest was sent, filed or attempted (ids sort in time order)."""
    rows = _digest_rows(state, account)
    return max((str(r["key"]).rsplit(":", 1)[1] for r in rows), default=None)


def last_digest(state: StateStore, account: str) -> dict[str, Any] | None:
    """The latest digest's period, status, folder and time, for `introd status`."""
    rows = _digest_rows(state, account)
    if not rows:
        return None
    row = max(rows, key=lambda r: (str(r["key"]).rsplit(":", 1)[1], str(r["updated"])))
    return {"period": str(row["key"]).rsplit(":", 1)[1], "status": row["status"], "folder": row["folder"],
            "at": row["updated"]}


def recipients_for(config: Config, account: AccountConfig) -> tuple[str, ...]:
    """[digest] to, else the account's first address; never anything but the user's own addresses."""
    own = {a.lower() for acct in config.accounts for a in acct.addresses}
    to = config.digest.to or account.addresses[:1]
    foreign = [a for a in to if a.lower() not in own]
    if foreign:  # config validation already refuses this; the check stays next to the send
        raise IntrodError(f"[digest] to: {', '.join(foreign)} is not one of your own addresses")
    return tuple(to)


def build_for(config: Config, state: StateStore, account: AccountConfig, now: datetime,
              period: Period | None = None) -> Digest:
    """The digest of one account's intros at ``now`` (for the current period unless one is given)."""
    period = period or current_period(now, config.digest)
    ledger = {e.key: e for e in state.ledger(account.name)}
    user = User(name=account.display_name, addresses=account.addresses)
    return build_digest(load_analyses(state, account.name), ledger, user, now, period, account=account.name,
                        timezone_name=config.digest.timezone)


# -- sending -----------------------------------------------------------------------------------------------


def _default_connect(account: AccountConfig) -> MailStore:
    from introd.runner import open_store

    return open_store(account)


def send_due_digest(
    config: Config,
    state: StateStore,
    account: AccountConfig,
    now: datetime,
    *,
    force: bool = False,
    connect_store: Callable[[AccountConfig], MailStore] = _default_connect,
    sleep: Callable[[float], None] = time.sleep,
) -> DigestOutcome:
    """Send this period's digest of ``account`` if it is due (or ``force``), else do nothing. Blocking.

    Cheap when nothing is due (two SQLite reads, no network): call it after every pass and on a timer.
    Connects to IMAP (``connect_store``) only to file the digest. ``force`` sends even when this period's
    digest went out already (``introd digest --send``). Never raises IntrodError: failures are in the
    outcome, the log and the ledger.
    """
    cfg = config.digest
    if not cfg.enabled and not force:
        return DigestOutcome(account.name, DISABLED)
    period = current_period(now, cfg)
    key = digest_key(account.name, period.id)
    entry = state.ledger_get(account.name, key)
    if entry is not None and entry.status in (PLANNED, FAILED) and entry.raw:
        # Stopped mid-send, or neither SMTP nor filing worked: file it; never risk a second email.
        why = "interrupted send" if entry.status == PLANNED else "earlier failure"
        return _file(config, state, account, entry, now, connect_store, f"filed after an {why}", period.id)
    if not force and (entry is not None or due_period(now, last_period(state, account.name), cfg) is None):
        return DigestOutcome(account.name, NOT_DUE, period.id)
    try:
        recipients = recipients_for(config, account)
        digest = build_for(config, state, account, now, period)
    except IntrodError as exc:
        log.error("%s: digest: %s", account.name, exc)
        return DigestOutcome(account.name, FAILED, period.id, error=str(exc))
    if not config.smtp.host:
        message_id, raw = compose_digest(digest, recipients, notice="No [smtp] host is configured, so introd "
                                         "filed this digest here instead of mailing it.")
        entry = LedgerEntry(key, DIGEST, DIGEST, PLANNED, message_id, None, None, content_hash(raw), raw)
        state.ledger_put(account.name, entry)
        return _file(config, state, account, entry, now, connect_store, "no [smtp] host", period.id, recipients)
    message_id, raw = compose_digest(digest, recipients)
    entry = LedgerEntry(key, DIGEST, DIGEST, PLANNED, message_id, None, None, content_hash(raw), raw)
    state.ledger_put(account.name, entry)  # before the SMTP session: a restart now never sends twice
    try:
        login = smtp.resolve_login(config.smtp, account)
        attempts = smtp.send(login, account.addresses[0], recipients, raw, sleep=sleep)
    except IntrodError as exc:
        log.warning("%s: digest %s not sent: %s; filing it in the reminders folder", account.name, period.id, exc)
        _, raw = compose_digest(digest, recipients, message_id=message_id,
                                notice=f"introd could not send this digest by email ({exc}), so it filed it here.")
        entry = dataclasses.replace(entry, raw=raw, content_hash=content_hash(raw))
        state.ledger_put(account.name, entry)
        return _file(config, state, account, entry, now, connect_store, str(exc), period.id, recipients)
    state.ledger_put(account.name, dataclasses.replace(entry, status=SENT, raw=None))
    log.info("%s: digest %s sent to %s (%d attempt%s)", account.name, period.id, ", ".join(recipients), attempts,
             "" if attempts == 1 else "s")
    return DigestOutcome(account.name, SENT, period.id, recipients, message_id=message_id)


def _file(config: Config, state: StateStore, account: AccountConfig, entry: LedgerEntry, now: datetime,
          connect_store: Callable[[AccountConfig], MailStore], reason: str, period_id: str,
          recipients: tuple[str, ...] = ()) -> DigestOutcome:
    """APPEND the digest to the reminders folder unless its Message-ID is there already."""
    from introd.sync import act_folders

    assert entry.raw is not None and entry.message_id is not None
    folder: str | None = None
    try:
        store = connect_store(account)
        try:
            folder = act_folders(store.special_folders(), config).reminders
            if folder not in set(store.list_folders()):
                store.ensure_folder(folder)
            found = store.find_message_id(folder, entry.message_id)
            uid = max(found) if found else store.append(folder, entry.raw, REMINDER_FLAGS, now)
        finally:
            store.close()
    except IntrodError as exc:
        state.ledger_put(account.name, dataclasses.replace(entry, status=FAILED))
        log.error("%s: digest %s could not be filed either: %s", account.name, period_id, exc)
        return DigestOutcome(account.name, FAILED, period_id, recipients, message_id=entry.message_id,
                             error=f"{reason}; filing failed: {exc}")
    state.ledger_put(account.name, dataclasses.replace(entry, status=FILED, folder=folder, uid=uid, raw=None))
    log.info("%s: digest %s filed in %s (%s)", account.name, period_id, folder, reason)
    return DigestOutcome(account.name, FILED, period_id, recipients, folder=folder, message_id=entry.message_id,
                         error=reason)
