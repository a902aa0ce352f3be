"""`introd run`: the long-running asyncio service.

Per account: one *worker* connection that runs passes (never two at once; every pass of every account holds one
lock, so the SQLite state is written from one thread at a time), IDLE watchers on their own connections that
wake the worker, a debounce so a burst of new mail is one pass, and a timer for time-based due checks.
Blocking imapclient and SQLite calls run in threads, never on the event loop. Signals: SIGTERM/SIGINT stop
(within 10 s, nothing half-written: every write is an SQLite transaction and every APPEND is in the ledger
first), SIGHUP reloads the config (a bad one is rejected and the old one keeps running).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import threading
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar, cast

from introd.backoff import CrashGuard, auth_backoff, network_backoff, next_due_check
from introd.backoff import anchors as intro_anchors
from introd.config import AccountConfig, Config, load_config
from introd.digest_run import last_period, send_due_digest
from introd.digest_schedule import next_check
from introd.errors import AuthenticationError, ConfigError, CredentialError, IntrodError, MailStoreError, TLSError
from introd.idle import FolderWatcher
from introd.mailstore.base import MailStore
from introd.mailstore.imap import ImapStore
from introd.notify import Notifier
from introd.runner import Clock, log_report, open_store, system_clock
from introd.store import StateStore
from introd.sync import PassReport, run_pass, watched_folders

log = logging.getLogger(__name__)
T = TypeVar("T")

DEBOUNCE = 0.02  # seconds: new-mail notifications arriving this close together make one pass (an
# APPEND brings EXISTS, RECENT and FETCH in one burst; a longer wait only adds latency)
STOP_GRACE = 6.0  # seconds a pass in flight may take to finish after SIGTERM before its socket is cut
ABORT_GRACE = 2.5  # ... and after the cut
FRESH = 5.0  # a worker connection idle longer than this is NOOP-checked before a pass


def in_thread(func: Callable[[], T], name: str) -> asyncio.Future[T]:
    """Run a blocking call in a daemon thread (a hung socket can never keep the process from exiting)."""
    loop = asyncio.get_running_loop()
    future: asyncio.Future[T] = loop.create_future()

    def settle(ok: bool, value: Any) -> None:
        if future.done():
            return
        if ok:
            future.set_result(value)
        else:
            future.set_exception(value)

    def target() -> None:
        try:
            result = func()
        except BaseException as exc:  # handed to the awaiting task
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(settle, False, exc)
            return
        with contextlib.suppress(RuntimeError):
            loop.call_soon_threadsafe(settle, True, result)

    threading.Thread(target=target, name=name, daemon=True).start()
    return future


class _Borrowed:
    """The worker connection lent to the digest for filing: it must not close it."""

    def __init__(self, store: MailStore) -> None:
        self._store = store

    def __getattr__(self, name: str) -> Any:
        return getattr(self._store, name)

    def close(self) -> None:
        """The worker stays open: the account runner owns it."""


def watch_plan(roles: dict[str, str], existing: set[str], max_connections: int) -> list[str]:
    """Folders that get an IDLE connection: INBOX, Sent, Drafts, then the rest, within the budget (one
    connection is the worker's)."""
    order = {"INBOX": 0, "Sent": 1, "Drafts": 2}
    folders = [f for f, role in roles.items() if f in existing or role == "INBOX"]
    folders.sort(key=lambda f: order.get(roles[f], 3))
    return folders[: max(0, max_connections - 1)]


class AccountRunner:
    """Everything the daemon does for one account."""

    def __init__(self, service: Service, account: AccountConfig) -> None:
        self.service = service
        self.account = account
        self.wake = asyncio.Event()
        self.stopping = False
        self.watch_stop = threading.Event()
        self.watchers: list[FolderWatcher] = []
        self.worker: MailStore | None = None
        self.worker_used = 0.0
        self.in_pass = False
        self.net = network_backoff()
        self.auth = auth_backoff()
        self.guard = CrashGuard()
        self.next_due = time.monotonic()  # monotonic time of the next time-based pass
        self.task: asyncio.Task[None] | None = None
        self.loop = asyncio.get_running_loop()

    @property
    def name(self) -> str:
        return self.account.name

    def start(self) -> None:
        self.task = asyncio.create_task(self.run(), name=f"account {self.name}")

    def notify_change(self, why: str) -> None:
        """Called from a watcher thread: wake the worker (thread-safe)."""
        with contextlib.suppress(RuntimeError):  # the loop is gone during shutdown
            self.loop.call_soon_threadsafe(self.wake.set)
        log.debug("%s: %s", self.name, why)

    def is_stopping(self) -> bool:
        """True once shutdown() was called (a method, so the check is not narrowed away)."""
        return self.stopping

    def set_status(self, text: str) -> None:
        self.service.account_status[self.name] = text
        self.service.notifier.status(self.service.account_status)

    # -- the loop ----------------------------------------------------------------------------------------
    async def run(self) -> None:
        reason = "startup"
        while not self.stopping:
            delay, interruptible = await self.attempt(reason)
            if self.is_stopping():
                break
            if delay:
                reason = await self.sleep(delay, interruptible)
            else:
                reason = await self.wait_for_work()
        await self.stop_watchers()

    async def attempt(self, reason: str) -> tuple[float, bool]:
        """One pass, with the error handling of the loop; returns (seconds to wait, interruptible by mail)."""
        try:
            await self.ensure_worker()
            await self.start_watchers()
            self.set_status("syncing")
            report = await self.pass_(reason)
        except (AuthenticationError, CredentialError, TLSError) as exc:
            delay = self.auth.next_delay()
            log.error("%s: %s; retrying in %s", self.name, exc, _human(delay))
            await self.failed(exc, f"{_kind(exc)}; retry in {_human(delay)}")
            return delay, False
        except IntrodError as exc:
            delay = self.net.next_delay()
            log.warning("%s: %s; retrying in %s", self.name, exc, _human(delay))
            await self.failed(exc, f"{_kind(exc)}; retry in {_human(delay)}")
            return delay, True
        except Exception as exc:  # a bug: log it, keep the other accounts going, never spin
            pause = self.guard.record(time.monotonic())
            delay = pause or self.net.next_delay()
            log.exception("%s: pass crashed (%s); retrying in %s", self.name, type(exc).__name__, _human(delay))
            if pause:
                log.error("%s: %d crashes within %.0f min: pausing this account for %s", self.name,
                          self.guard.limit, self.guard.window / 60, _human(pause))
            await self.failed(exc, "crashed; paused" if pause else f"crashed; retry in {_human(delay)}")
            return delay, not pause
        self.net.reset()
        self.auth.reset()
        self.schedule_due(report)
        self.set_status(f"idle, watching {len(self.watchers)} folder(s)" if self.watchers else "idle, polling")
        return 0.0, False

    async def failed(self, exc: BaseException, status: str) -> None:
        self.drop_worker()
        self.set_status(status)
        text = str(exc) if isinstance(exc, IntrodError) else f"internal error: {type(exc).__name__}"
        await self.service.locked(lambda: self.service.state.set_account_status(self.name, connected=False,
                                                                                 error=text), "status")

    def schedule_due(self, report: PassReport) -> None:
        """The next time-based pass: the next day threshold of any intro, at the latest due_check_interval."""
        config = self.service.config
        now = self.service.clock()
        when = report.next_check or next_due_check(now, config.daemon.due_check_interval, config.timing,
                                                   intro_anchors(report.intros))
        if config.digest.enabled:  # wake up for the weekly digest's slot too
            when = min(when, next_check(now, last_period(self.service.state, self.name), config.digest))
        self.next_due = time.monotonic() + max(1.0, (when - now).total_seconds())
        log.debug("%s: next due check at %s", self.name, when.isoformat(timespec="seconds"))

    async def wait_for_work(self) -> str:
        """Until new mail (debounced), the next due check, or a poll when nothing watches; the reason."""
        timeout = self.next_due - time.monotonic()
        if not self.watchers:
            timeout = min(timeout, float(self.account.poll_interval))
        try:
            await asyncio.wait_for(self.wake.wait(), max(0.0, timeout))
        except asyncio.TimeoutError:
            return "due check" if self.watchers else "poll"
        await asyncio.sleep(DEBOUNCE)
        self.wake.clear()
        return "new mail"

    async def sleep(self, delay: float, interruptible: bool) -> str:
        """A backoff wait; new mail (a watcher that got through) may cut a network backoff short."""
        deadline = time.monotonic() + delay
        while not self.stopping:
            left = deadline - time.monotonic()
            if left <= 0:
                return "retry"
            self.wake.clear()
            try:
                await asyncio.wait_for(self.wake.wait(), left)
            except asyncio.TimeoutError:
                return "retry"
            if interruptible and not self.stopping:
                await asyncio.sleep(DEBOUNCE)
                self.wake.clear()
                return "reconnected"
        return "stop"

    # -- connections -------------------------------------------------------------------------------------
    async def ensure_worker(self) -> None:
        """A live worker connection: reuse it (NOOP-checked when idle a while) or connect anew."""
        worker = self.worker
        if worker is not None and time.monotonic() - self.worker_used > FRESH:
            client = getattr(worker, "client", None)
            if client is not None:
                try:
                    await in_thread(client.noop, f"noop {self.name}")
                except Exception:  # any failure means: reconnect
                    log.info("%s: worker connection lost; reconnecting", self.name)
                    self.drop_worker()
        if self.worker is None:
            self.set_status("connecting")
            self.worker = await in_thread(lambda: self.service.connect(self.account), f"connect {self.name}")
            log.info("%s: connected", self.name)
        self.worker_used = time.monotonic()

    def drop_worker(self) -> None:
        worker, self.worker = self.worker, None
        if worker is not None:
            abort = getattr(worker, "abort", None)
            if abort is not None:
                abort()
            threading.Thread(target=worker.close, daemon=True).start()

    async def start_watchers(self) -> None:
        """IDLE watchers on their own connections, once the worker has logged in (no login storms)."""
        worker = self.worker
        if self.watchers or not isinstance(worker, ImapStore):
            return
        account = self.account

        def plan() -> list[str]:
            roles = watched_folders(worker, account)
            return watch_plan(roles, set(worker.list_folders()), account.max_connections)

        folders = await in_thread(plan, f"plan {self.name}")
        connect = self.service.connect

        def watcher_connect() -> ImapStore:
            store = connect(account)
            if not isinstance(store, ImapStore):  # pragma: no cover - only IMAP accounts get watchers
                store.close()
                raise MailStoreError(f"{account.name}: IDLE needs an IMAP store")
            return store

        for folder in folders:
            w = FolderWatcher(account, folder, watcher_connect, self.notify_change, self.watch_stop)
            self.watchers.append(w)
            w.start()
        if folders:
            log.info("%s: watching %s", self.name, ", ".join(folders))

    async def stop_watchers(self) -> None:
        """Ask every watcher to stop and give them together a moment to log out."""
        self.watch_stop.set()
        watchers = list(self.watchers)

        def join() -> None:
            deadline = time.monotonic() + 1.5
            for w in watchers:
                w.thread.join(max(0.0, deadline - time.monotonic()))

        if watchers:
            await in_thread(join, f"join {self.name}")

    # -- passes ------------------------------------------------------------------------------------------
    async def pass_(self, reason: str) -> PassReport:
        worker = self.worker
        assert worker is not None
        service = self.service
        refresh = getattr(worker, "refresh", None)

        def work() -> PassReport:
            if refresh is not None:
                refresh()
            now = service.clock()
            log.info("%s: pass started (%s)", self.name, reason)
            report = run_pass(worker, service.state, service.config, self.account, now)
            service.state.set_account_status(self.name, connected=True, synced=True)
            log_report(report)
            # The weekly digest, right after the pass that brought the intros up to date (cheap when not due).
            outcome = send_due_digest(service.config, service.state, self.account, now,
                                      connect_store=lambda _account: cast(MailStore, _Borrowed(worker)))
            if outcome.status not in ("not_due", "disabled"):
                log.info("%s: weekly digest %s: %s%s", self.name, outcome.period, outcome.status,
                         f" ({outcome.error})" if outcome.error else "")
            return report

        self.in_pass = True
        try:
            report = await service.locked(work, f"pass {self.name}")
        finally:
            self.in_pass = False
            self.worker_used = time.monotonic()
        return report

    async def shutdown(self) -> None:
        """Stop after the pass in flight (if any)."""
        self.stopping = True
        self.watch_stop.set()
        self.wake.set()


class Service:
    """The daemon: accounts, signals, sd_notify, reload."""

    def __init__(self, config: Config, state: StateStore, *, verbosity: int = 0, clock: Clock = system_clock,
                 connect: Callable[[AccountConfig], MailStore] = open_store, notifier: Notifier | None = None
                 ) -> None:
        self.config = config
        self.state = state
        self.verbosity = verbosity
        self.clock: Callable[[], datetime] = clock
        self.connect = connect
        self.notifier = notifier or Notifier()
        self.account_status: dict[str, str] = {}
        self.runners: dict[str, AccountRunner] = {}
        self.lock = asyncio.Lock()
        self.stop_event = asyncio.Event()
        self.reloading = False
        self.state_busy = False  # a thread holds the state (a pass that outlived the stop grace)

    async def locked(self, func: Callable[[], T], name: str) -> T:
        """Run ``func`` in a thread while holding the state lock (one SQLite writer thread at a time)."""
        async with self.lock:
            return await in_thread(func, name)

    async def run(self) -> int:
        loop = asyncio.get_running_loop()
        loop.add_signal_handler(signal.SIGTERM, self.request_stop, "SIGTERM")
        loop.add_signal_handler(signal.SIGINT, self.request_stop, "SIGINT")
        loop.add_signal_handler(signal.SIGHUP, self.request_reload)
        for account in self.config.accounts:
            self.add_account(account)
        log.info("introd started: %d account(s), state %s", len(self.config.accounts), self.config.state.path)
        self.notifier.send(READY=1, STATUS="starting", MAINPID=os.getpid())
        dog = asyncio.create_task(self.watchdog()) if self.notifier.watchdog else None
        await self.stop_event.wait()
        self.notifier.send(STOPPING=1, STATUS="stopping")
        if dog is not None:
            dog.cancel()
        await self.stop_all()
        self.notifier.close()
        return 0

    def add_account(self, account: AccountConfig) -> None:
        runner = AccountRunner(self, account)
        self.runners[account.name] = runner
        self.account_status[account.name] = "starting"
        runner.start()

    def request_stop(self, why: str) -> None:
        log.info("%s received: stopping", why)
        self.stop_event.set()

    def request_reload(self) -> None:
        if self.reloading:
            log.info("SIGHUP received while reloading: ignored")
            return
        log.info("SIGHUP received: reloading %s", self.config.path)
        self.reloading = True
        asyncio.get_running_loop().create_task(self.reload())

    async def watchdog(self) -> None:
        """WATCHDOG=1 from the event loop itself, so a blocked loop stops the pings and systemd notices."""
        assert self.notifier.watchdog is not None
        while True:
            self.notifier.send(WATCHDOG=1)
            await asyncio.sleep(self.notifier.watchdog)

    async def reload(self) -> None:
        try:
            self.notifier.send(RELOADING=1, STATUS="reloading the configuration")
            try:
                new = await in_thread(lambda: load_config(Path(self.config.path)), "reload")
            except ConfigError as exc:
                log.error("reload rejected, the running configuration stays in effect: %s", exc)
                return
            if new.state.path != self.config.state.path:
                log.error("reload rejected, the running configuration stays in effect: [state] path changed "
                          "(%s -> %s); restart introd to move the state", self.config.state.path, new.state.path)
                return
            old = {a.name: a for a in self.config.accounts}
            fresh = {a.name: a for a in new.accounts}
            gone = [n for n in old if n not in fresh or fresh[n] != old[n]]
            for name in gone:
                runner = self.runners.pop(name)
                await runner.shutdown()
                if runner.task is not None:
                    await runner.task
                runner.drop_worker()
                self.account_status.pop(name, None)
            self.config = new
            if new.log_format != self.current_log_format:
                from introd.logs import setup_logging

                setup_logging(self.verbosity, new.log_format)
                self.current_log_format = new.log_format
            started = [a for a in new.accounts if a.name not in self.runners]
            for account in started:
                self.add_account(account)
            for runner in self.runners.values():
                runner.wake.set()  # timing or drafts settings may have changed: re-check now
            log.info("configuration reloaded: %d account(s); restarted %s", len(new.accounts),
                     ", ".join(a.name for a in started) or "none")
        finally:
            self.reloading = False
            self.notifier.send(READY=1)
            self.notifier.status(self.account_status)

    current_log_format = "text"

    async def stop_all(self) -> None:
        """Stop every account within the grace periods; cut sockets of passes that take too long."""
        runners = list(self.runners.values())
        for runner in runners:
            await runner.shutdown()
        tasks = [r.task for r in runners if r.task is not None]
        _done, pending = await asyncio.wait(tasks, timeout=STOP_GRACE) if tasks else (set(), set())
        if pending:
            for runner in runners:
                if runner.in_pass:
                    log.warning("%s: pass still running at shutdown: cutting its connection", runner.name)
                    runner.drop_worker()
            _done, pending = await asyncio.wait(pending, timeout=ABORT_GRACE)
        for runner in runners:
            for w in runner.watchers:
                w.abort()
        if any(r.in_pass for r in runners) or self.lock.locked():
            # A thread still holds the state: leave the database to SQLite's own crash safety.
            self.state_busy = True
            log.warning("stopped with a pass still running; its open transaction is discarded")
            return
        for runner in runners:
            runner.drop_worker()
            row = self.state.account_status(runner.name)
            if row:
                self.state.set_account_status(runner.name, connected=False, error=row.get("last_error"))
        log.info("introd stopped")


def _human(seconds: float) -> str:
    if seconds < 10:
        return f"{seconds:.1f} s"
    if seconds < 120:
        return f"{seconds:.0f} s"
    return f"{seconds / 60:.0f} min"


def _kind(exc: BaseException) -> str:
    if isinstance(exc, AuthenticationError):
        return "login rejected"
    if isinstance(exc, CredentialError):
        return "no credential"
    if isinstance(exc, TLSError):
        return "TLS failure"
    return "network error"


def serve(config: Config, *, verbosity: int = 0) -> int:
    """Run the daemon until SIGTERM/SIGINT; the exit status."""
    state = StateStore(config.state.path, lock=True)
    service = Service(config, state, verbosity=verbosity)
    service.current_log_format = config.log_format
    try:
        return asyncio.run(service.run())
    finally:
        if not service.state_busy:
            state.close()

