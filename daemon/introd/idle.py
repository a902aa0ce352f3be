"""One folder's watcher: IMAP IDLE (RFC 2177) or NOOP polling on its own connection, in its own thread.

The watcher never reads or writes the state; it only tells the service "something changed in this folder",
and the service runs a pass. Every wait is bounded: IDLE is checked in short steps, ended and re-issued with a
NOOP round trip at least every ``keepalive`` seconds (RFC 2177 asks for less than 29 minutes), and each round
trip has the account's socket timeout, so a silently dropped connection is noticed and replaced.
"""

from __future__ import annotations

import imaplib
import logging
import random
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

from imapclient import exceptions as imap_exc

from introd.backoff import Backoff, auth_backoff, network_backoff
from introd.config import AccountConfig
from introd.errors import AuthenticationError, CredentialError, IntrodError, TLSError, TransientError
from introd.mailstore.imap import ImapStore

log = logging.getLogger(__name__)

STEP = 1.0  # seconds per idle_check: how quickly a stop request is noticed
# Untagged responses that mean the folder changed (RFC 3501 7.3-7.4, RFC 7162 VANISHED).
CHANGES = frozenset({b"EXISTS", b"EXPUNGE", b"FETCH", b"RECENT", b"VANISHED"})


def is_change(responses: Sequence[Any]) -> bool:
    """True when IDLE/NOOP responses report new, removed or changed messages (not ``* OK Still here``)."""
    for resp in responses:
        if not isinstance(resp, tuple) or not resp:
            continue
        if resp[0] == b"VANISHED" or (len(resp) > 1 and resp[1] in CHANGES):
            return True
    return False


def is_bye(responses: Sequence[Any]) -> bool:
    """True when the server announced it is closing the connection (``* BYE``, e.g. a restart)."""
    return any(isinstance(r, tuple) and r and r[0] == b"BYE" for r in responses)


class FolderWatcher:
    """Watches one folder until ``stop`` is set; reconnects by itself with backoff and jitter."""

    def __init__(self, account: AccountConfig, folder: str, connect: Callable[[], ImapStore],
                 on_change: Callable[[str], None], stop: threading.Event, *, rng: random.Random | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.account = account
        self.folder = folder
        self.connect = connect
        self.on_change = on_change
        self.stop = stop
        self.clock = clock
        self.net: Backoff = network_backoff(rng)
        self.auth: Backoff = auth_backoff(rng)
        self.store: ImapStore | None = None
        self.thread = threading.Thread(target=self.run, name=f"watch {account.name}/{folder}", daemon=True)
        self.where = f"{account.name}/{folder}"

    def start(self) -> None:
        """Start the watcher thread."""
        self.thread.start()

    def abort(self) -> None:
        """Break a blocked round trip at once (from another thread)."""
        store = self.store
        if store is not None:
            store.abort()

    def run(self) -> None:
        """The thread: connect, watch, and on any failure wait and reconnect, until stopped."""
        first = True
        while not self.stop.is_set():
            delay = 0.0
            try:
                self.store = self.connect()
                self.net.reset()
                self.auth.reset()
                if not first:
                    log.info("%s: watcher reconnected", self.where)
                self.watch(self.store, notify_first=not first)
            except (AuthenticationError, CredentialError, TLSError) as exc:
                delay = self.auth.next_delay()
                log.error("%s: watcher: %s; retrying in %.0f s", self.where, exc, delay)
            except (IntrodError, OSError, EOFError, imaplib.IMAP4.error, imap_exc.IMAPClientError) as exc:
                delay = self.net.next_delay()
                if not self.stop.is_set():
                    log.warning("%s: watcher: %s; reconnecting in %.1f s", self.where, _one_line(exc), delay)
                    log.debug("%s: watcher failure", self.where, exc_info=True)
            except Exception:  # a bug: keep watching, but never spin
                delay = self.net.next_delay()
                log.exception("%s: watcher crashed; restarting in %.1f s", self.where, delay)
            finally:
                store, self.store = self.store, None
                if store is not None:
                    if self.stop.is_set():
                        store.close()
                    else:  # the connection is broken: do not wait for a LOGOUT answer
                        store.abort()
                        store.close()
            first = False
            if delay:
                self.stop.wait(delay)

    def watch(self, store: ImapStore, *, notify_first: bool) -> None:
        """EXAMINE the folder and loop on IDLE (or NOOP polls) until stopped; raises on any failure."""
        client = store.client
        client.select_folder(self.folder, readonly=True)
        if notify_first:
            self.on_change("reconnected")  # mail that arrived while the connection was down
        use_idle = "IDLE" in store.capabilities()
        log.debug("%s: watching with %s", self.where, "IDLE" if use_idle else "NOOP polls")
        while not self.stop.is_set():
            if use_idle:
                self._idle_once(store)
            else:
                self.stop.wait(self.account.poll_interval)
                if self.stop.is_set():
                    break
                responses = client.noop()[1]
                if is_change(responses):
                    self.on_change("new mail")

    def _idle_once(self, store: ImapStore) -> None:
        """One IDLE of at most ``keepalive`` seconds, then DONE and a NOOP round trip (proves the link)."""
        client = store.client
        keepalive = float(self.account.keepalive)
        client.idle()
        started = self.clock()
        while not self.stop.is_set():
            left = keepalive - (self.clock() - started)
            if left <= 0:
                break
            step = min(STEP, left)
            before = self.clock()
            responses = client.idle_check(timeout=step)
            if is_bye(responses):
                raise TransientError(f"{self.where}: server closed the connection (BYE)")
            if is_change(responses):
                self.on_change("new mail")
            elif not responses and self.clock() - before < step / 2:
                break  # readable but no complete line: EOF or garbage; the DONE round trip tells
        done = client.idle_done()  # bounded by the socket timeout: raises on a dead link, abort on EOF
        if is_change(done[1]):
            self.on_change("new mail")
        if self.stop.is_set():
            return
        if is_change(client.noop()[1]):
            self.on_change("new mail")


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0]}" if text else type(exc).__name__
