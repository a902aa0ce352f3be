"""The runner: reads the clock, opens connections, runs passes, records account status."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone

from introd.config import AccountConfig, Config
from introd.errors import IntrodError
from introd.mailstore.base import MailStore
from introd.store import StateStore
from introd.sync import PassReport, run_pass

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]


def system_clock() -> datetime:
    """The current time, tz-aware (the only place introd reads the wall clock)."""
    return datetime.now(timezone.utc)


def open_store(account: AccountConfig) -> MailStore:
    """Connect to the account's mail store (IMAP login, or open the local Maildir)."""
    if account.backend == "maildir":
        from introd.mailstore.maildir import MaildirStore

        assert account.maildir is not None  # config validation guarantees it
        return MaildirStore(account.maildir)
    from introd.mailstore.imap import ImapStore
    from introd.oauth import get_secret

    # The secret is fetched afresh for every connection: an OAuth2 token command refreshes expired tokens.
    return ImapStore.connect(account, get_secret(account))


@dataclass
class AccountResult:
    """The outcome of one account's pass: a report, or the error that stopped it."""

    account: str
    report: PassReport | None = None
    error: IntrodError | None = None


def run_once(
    config: Config,
    state: StateStore,
    *,
    clock: Clock = system_clock,
    connect: Callable[[AccountConfig], MailStore] = open_store,
    dry_run: bool = False,
) -> list[AccountResult]:
    """One full pass over every account; one account's failure never stops another."""
    results: list[AccountResult] = []
    for account in config.accounts:
        result = AccountResult(account=account.name)
        try:
            store = connect(account)
        except IntrodError as exc:
            log.error("%s: %s", account.name, exc)
            state.set_account_status(account.name, connected=False, error=str(exc))
            result.error = exc
            results.append(result)
            continue
        try:
            result.report = run_pass(store, state, config, account, clock(), dry_run=dry_run)
            state.set_account_status(account.name, connected=True, synced=True)
            log_report(result.report)
        except IntrodError as exc:
            log.error("%s: %s", account.name, exc)
            log.debug("%s: pass failed", account.name, exc_info=True)
            state.set_account_status(account.name, connected=False, error=str(exc))
            result.error = exc
        finally:
            store.close()
        results.append(result)
    return results


def log_report(report: PassReport) -> None:
    """One line per folder and one summary line."""
    for f in report.folders:
        resynced = " (UIDVALIDITY changed: resynced)" if f.resynced else ""
        what = "unchanged" if f.unchanged else f"{f.new} new{resynced}"
        log.info("%s/%s [%s]: %s%s", report.account, f.folder, f.role, what,
                 f", {f.skipped} skipped" if f.skipped else "")
    if report.quiet:
        when = report.next_check.isoformat(timespec="seconds") if report.next_check else "the next change"
        log.info("%s: quiet: nothing changed since the last pass and nothing comes due before %s",
                 report.account, when)
        return
    due = sum(len(i.due) for i in report.intros)
    history = f" ({report.dormant} more older than history_days left as history)" if report.dormant else ""
    woken = f", {report.woken} history messages woken by new mail" if report.woken else ""
    log.info("%s: %d new candidates%s, %d bodies fetched, %d intros, %d due actions%s",
             report.account, report.candidates, history, report.bodies_fetched, len(report.intros), due, woken)
    act = report.act
    for line in act.planned:
        log.info("%s: dry run: %s", report.account, line)
    if not act.planned:
        log.info("%s: %d drafts written, %d reminders filed, %d own messages removed, %d left alone (edited), "
                 "%d dismissed, %d sent by you%s", report.account, len(act.drafts), act.reminders, act.removed,
                 act.left_alone, act.dismissed, act.sent,
                 f", {act.deferred} drafts held back by max_per_pass" if act.deferred else "")
