"""Network faults aimed at one IMAP command through the proxy (reset mid-FETCH, mid-APPEND, mid-IDLE), a slow
link, and a server restart under a running daemon. Each test proves its fault fired before judging recovery."""

from __future__ import annotations

import random
import time
from collections import Counter
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path

import pytest

from tests.conftest import running_dovecot
from tests.reliability import harness as h
from tests.servers.dovecot import DovecotServer, MailUser, imap_client
from tests.servers.proxy import Fault, Fired, TcpProxy

pytestmark = [pytest.mark.dovecot, pytest.mark.slow]

SEED = 20261127
# What introd sends (imapclient): "<tag> UID FETCH 1,2,3 (BODY.PEEK[])" for bodies, and
# "<tag> APPEND "Drafts" (\Draft \Seen) "<date>" {1326}" (then the literal, after the server's "+").
BODY_FETCH = rb"UID FETCH [^\r\n]*BODY\.PEEK\[\][^\r\n]*\r\n"
HEADER_FETCH = rb"UID FETCH [^\r\n]*BODY\.PEEK\[HEADER\.FIELDS[^\r\n]*\r\n"
APPEND = rb"APPEND [^\r\n]*\{\d+\}\r\n"
IDLE = rb"[A-Z]+\d+ IDLE\r\n"
FETCH_CUTS = 4  # three inside a body (first, second or third message of the batch), one in headers
APPEND_CUTS = 4
LATENCY = 0.05  # seconds per chunk, each direction


@pytest.fixture(scope="module")
def reference(dovecot: DovecotServer, tmp_path_factory: pytest.TempPathFactory
              ) -> tuple[list[tuple[str, bytes, datetime]], Counter[tuple[str, str]]]:
    """The small mailbox and the own messages of one clean `run --once` over it."""
    mailbox = h.small_mailbox()
    user = dovecot.new_user()
    h.load(dovecot, user, mailbox)
    directory = tmp_path_factory.mktemp("reference")
    done = h.run_once(h.write_config(directory, dovecot.host, dovecot.port, user), user)
    assert done.returncode == 0, done.stderr[-2000:]
    own = h.own_messages(dovecot, user)
    assert own and max(own.values()) == 1
    return mailbox, own


def _user_mail(server: DovecotServer, user: MailUser) -> Counter[tuple[str, bytes]]:
    client = imap_client(server, user)
    try:
        return h.user_messages(client)
    finally:
        client.logout()


def _faulted_pass_then_clean_pass(dovecot: DovecotServer, mailbox: list[tuple[str, bytes, datetime]],
                                  reference: Counter[tuple[str, str]], fault: Fault, run_dir: Path
                                  ) -> tuple[int, str, Fired]:
    """`run --once` through a proxy armed with ``fault``, then again (fault used up); asserts the end state.
    (exit status of the faulted pass, both passes' logs, what the proxy did)."""
    user = dovecot.new_user()
    h.load(dovecot, user, mailbox)
    before = _user_mail(dovecot, user)
    proxy = TcpProxy(dovecot.host, dovecot.port)
    try:
        proxy.arm(fault)
        run_dir.mkdir()
        config = h.write_config(run_dir, proxy.host, proxy.port, user, timeout=5)
        faulted = h.run_once(config, user)
        assert len(proxy.fired) == 1, f"the fault never fired: {proxy.matches} matches\n{faulted.stderr[-2000:]}"
        assert faulted.returncode in (0, 5), faulted.stderr[-2000:]  # 5: a transient error, one ERROR line
        assert faulted.returncode == 0 or "ERROR" in faulted.stderr
        done = h.run_once(config, user)
        assert done.returncode == 0, done.stderr[-2000:]
        assert len(proxy.fired) == 1  # used up: the second pass ran undisturbed
        fired = proxy.fired[0]
    finally:
        proxy.close()
    own = h.own_messages(dovecot, user)
    assert own == reference, f"{own - reference} extra, {reference - own} missing"
    after = _user_mail(dovecot, user)
    assert after == before, f"the user's mail changed: {h.summary(after, before)}"  # no half-APPENDed message
    return faulted.returncode, faulted.stderr + done.stderr, fired


def _errors_only(log: str) -> str:
    """The ERROR and WARNING lines of a log (tracebacks at DEBUG, with -v, are on purpose)."""
    return "\n".join(ln for ln in log.splitlines() if ln.startswith(("ERROR", "WARNING")))


def test_reset_mid_fetch_literal_then_the_next_pass_is_exact(
        dovecot: DovecotServer, tmp_path: Path,
        reference: tuple[list[tuple[str, bytes, datetime]], Counter[tuple[str, str]]]) -> None:
    """A reset part-way through a literal of a FETCH answer (a message body, or a header block) fails the pass
    cleanly; the next pass leaves the mailbox exactly as a clean run does."""
    mailbox, own = reference
    rng = random.Random(SEED)
    for k in range(FETCH_CUTS):
        bodies = k < FETCH_CUTS - 1
        fault = Fault(BODY_FETCH if bodies else HEADER_FETCH, literal=rng.randrange(3),
                      literal_fraction=round(rng.uniform(0.05, 0.95), 3))
        code, log, fired = _faulted_pass_then_clean_pass(dovecot, mailbox, own, fault, tmp_path / f"fetch{k}")
        assert fired.literal is not None and fired.literal > 1  # the reset landed inside a literal
        print(f"mid-FETCH reset {k}: {'bodies' if bodies else 'headers'}, message #{fault.literal + 1} of the "
              f"answer, {fault.literal_fraction:.0%} into its literal; pass exit {code}")
        assert code == 5 and "UID FETCH" in _errors_only(log), log[-2000:]
    h.record_count("network_resets_mid_fetch", FETCH_CUTS)


def test_reset_mid_append_then_the_next_pass_is_exact(
        dovecot: DovecotServer, tmp_path: Path,
        reference: tuple[list[tuple[str, bytes, datetime]], Counter[tuple[str, str]]]) -> None:
    """A reset inside an APPEND's literal (nothing stored), or right after the server stored it but before its
    OK reached introd: the next pass redoes or confirms that one draft or reminder, exactly once."""
    mailbox, own = reference
    appends = sum(own.values())
    rng = random.Random(SEED + 1)
    repaired = 0
    for k in range(APPEND_CUTS):
        skip = rng.randrange(appends)
        if k % 2 == 0:  # the literal is 1-2 KB: cut somewhere inside it
            fault = Fault(APPEND, skip=skip, request_bytes=rng.randint(1, 900))
        else:
            fault = Fault(APPEND, skip=skip, lose_reply=True)
        proxy_log = tmp_path / f"append{k}"
        code, log, fired = _faulted_pass_then_clean_pass(dovecot, mailbox, own, fault, proxy_log)
        assert fired.literal is not None
        if fault.request_bytes is not None:  # inside the literal: the server never had the whole message
            assert fired.request_bytes == fault.request_bytes < fired.literal
        else:  # the whole literal (and its CRLF) went through; the server's answer did not
            assert fired.request_bytes == fired.literal + 2
        how = (f"{fault.request_bytes} bytes into the literal" if fault.request_bytes is not None
               else "stored, OK lost")
        print(f"mid-APPEND reset {k}: APPEND #{skip + 1}, {how}; pass exit {code}")
        assert code == 5 and "APPEND" in _errors_only(log), log[-2000:]
        fixed = ("redid the interrupted APPEND" in log, "after an interrupted pass" in log)
        assert fixed[0] if fault.request_bytes is not None else fixed[1], log[-3000:]
        repaired += 1
    h.record_count("network_resets_mid_append", APPEND_CUTS)
    h.record_count("network_interrupted_appends_repaired", repaired)


def test_high_latency_pass_completes_exactly(
        dovecot: DovecotServer, tmp_path: Path,
        reference: tuple[list[tuple[str, bytes, datetime]], Counter[tuple[str, str]]]) -> None:
    """Every chunk delayed 50 ms each way (a 100 ms round trip): the pass completes and equals a clean run."""
    mailbox = h.small_mailbox(intros=2)[:2]  # two intros: some 30 round trips
    own = _once_reference(dovecot, mailbox, tmp_path / "reference")
    user = dovecot.new_user()
    h.load(dovecot, user, mailbox)
    proxy = TcpProxy(dovecot.host, dovecot.port, latency=LATENCY)
    try:
        config = h.write_config(tmp_path, proxy.host, proxy.port, user, timeout=10)
        start = time.monotonic()
        done = h.run_once(config, user)
        took = time.monotonic() - start
        assert done.returncode == 0, done.stderr[-2000:]
        delayed = proxy.delayed_chunks
    finally:
        proxy.close()
    print(f"high latency: {delayed} chunks delayed {LATENCY * 1000:.0f} ms each; the pass took {took:.1f} s")
    assert delayed >= 40  # the latency was really applied, round trip after round trip
    assert sum(1 for folder, _ in own if folder == "Drafts") == 2
    assert h.own_messages(dovecot, user) == own
    h.record_count("latency_passes", 1)
    h.record_count("latency_delayed_chunks", delayed)


# --- the daemon --------------------------------------------------------------------------------------------

@pytest.fixture
def daemons() -> Iterator[list[h.Daemon]]:
    """Every daemon a test starts is killed at the end, whatever happened."""
    started: list[h.Daemon] = []
    yield started
    for d in started:
        if d.alive():
            d.kill()


def _intro(n: int) -> tuple[str, bytes, datetime]:
    now = datetime.now(timezone.utc).replace(microsecond=0)
    return ("INBOX", h.intro(n, now), now)


def _once_reference(server: DovecotServer, mailbox: list[tuple[str, bytes, datetime]], directory: Path
                    ) -> Counter[tuple[str, str]]:
    """Own messages of one `run --once` over ``mailbox`` (loaded all at once) on ``server``."""
    user = server.new_user()
    h.load(server, user, mailbox)
    directory.mkdir()
    done = h.run_once(h.write_config(directory, server.host, server.port, user), user)
    assert done.returncode == 0, done.stderr[-2000:]
    return h.own_messages(server, user)


def _wait_own(server: DovecotServer, user: MailUser, want: Counter[tuple[str, str]], what: str,
              timeout: float = 30.0) -> float:
    """Until the user's own messages (digest aside) equal ``want``; the seconds it took."""
    start = time.monotonic()
    while True:
        got = h.without_digest(h.own_messages(server, user))
        if got == want:
            return time.monotonic() - start
        assert time.monotonic() - start < timeout, f"{what}: {got - want} extra, {want - got} missing"
        time.sleep(0.1)


def test_reset_mid_idle_and_mid_append_the_daemon_recovers_by_itself(
        dovecot: DovecotServer, tmp_path: Path, daemons: list[h.Daemon]) -> None:
    """Every watcher connection reset while it IDLEs: the same daemon process reconnects with backoff and
    drafts mail that arrives afterwards (told by IDLE). Then a reset inside the APPEND of a draft: the daemon
    retries by itself. The mailbox ends equal to a clean run's, the digest filed once."""
    base = h.small_mailbox(intros=2)
    first, second = _intro(90), _intro(91)
    want = h.without_digest(_once_reference(dovecot, [*base, first, second], tmp_path / "reference"))
    want_first = Counter({k: v for k, v in want.items() if "rel-intro-91@" not in k[1]})
    user = dovecot.new_user()
    h.load(dovecot, user, base)
    proxy = TcpProxy(dovecot.host, dovecot.port)
    try:
        # The watchers send IDLE as soon as they connect; with keepalive = 300 nothing else is said on those
        # connections for minutes. The reset comes 1 s after each IDLE, once the startup pass is over.
        proxy.arm(Fault(IDLE, times=3, delay=1.0))
        config = h.write_config(tmp_path, proxy.host, proxy.port, user, timeout=5, extra="keepalive = 300\n")
        d = h.Daemon(config, user, tmp_path / "daemon.log").start()
        daemons.append(d)
        pid = d.proc.pid if d.proc else 0
        d.wait("watcher reconnected", count=3)
        assert len(proxy.fired) == 3 and all(f.mode == "delay" and f.command.endswith(" IDLE")
                                             for f in proxy.fired), proxy.fired
        assert d.text().count("reconnecting in") >= 3  # each watcher backed off before reconnecting
        reconnected = d.mark()
        d.wait(h.PASS_DONE, since=d.wait(h.PASS_START + "new mail", since=reconnected))  # "mail may have come"
        time.sleep(SETTLE)
        # 1. Mail after the resets reaches the daemon through a reconnected watcher's IDLE.
        mark = d.mark()
        h.load(dovecot, user, [first])  # straight to Dovecot, not through the proxy
        took = _wait_own(dovecot, user, want_first, "the draft for mail appended after the IDLE resets")
        assert h.PASS_START + "new mail" in d.text()[mark:]
        print(f"mid-IDLE resets: {len(proxy.fired)} watchers reset, reconnected; next intro drafted in {took:.1f} s")
        time.sleep(SETTLE)
        # 2. A reset inside the APPEND of the next draft: the pass fails, the daemon retries by itself.
        proxy.arm(Fault(APPEND, request_bytes=300))
        mark = d.mark()
        h.load(dovecot, user, [second])
        took = _wait_own(dovecot, user, want, "the draft after a reset mid-APPEND")
        assert len(proxy.fired) == 4 and " APPEND " in proxy.fired[-1].command, proxy.fired
        log = d.text()[mark:]
        assert "retrying in" in log and "redid the interrupted APPEND" in log, log[-3000:]
        print(f"mid-APPEND reset in the daemon: retried, drafted in {took:.1f} s")
        time.sleep(SETTLE)
        own = h.own_messages(dovecot, user)
        assert h.without_digest(own) == want and h.digests(own) == 1
        assert d.alive() and d.proc is not None and d.proc.pid == pid  # recovered in place, never restarted
        assert d.text().count("introd started") == 1 and "crashed" not in d.text()
        assert d.stop() == 0
    finally:
        proxy.close()
    assert h.integrity(tmp_path / "state.db") == "ok"
    h.record_count("network_resets_mid_idle", 3)
    h.record_count("network_resets_mid_append_daemon", 1)


def test_server_restart_under_the_daemon(tmp_path: Path, daemons: list[h.Daemon]) -> None:
    """A private Dovecot killed (master and sessions) and started again while `introd run` watches it through
    the proxy: the daemon rides out the outage, reconnects, drafts what arrived meanwhile and afterwards,
    once each."""
    for server in running_dovecot():  # this test's own server: stopping it leaves the session's alone
        base = h.small_mailbox(intros=2)
        meanwhile, afterwards = _intro(92), _intro(93)
        want = h.without_digest(_once_reference(server, [*base, meanwhile, afterwards], tmp_path / "reference"))
        user = server.new_user()
        h.load(server, user, base)
        proxy = TcpProxy(server.host, server.port)
        try:
            config = h.write_config(tmp_path, proxy.host, proxy.port, user, timeout=5)
            d = h.Daemon(config, user, tmp_path / "daemon.log").start()
            daemons.append(d)
            d.wait(h.PASS_DONE)
            d.wait("watching with IDLE", count=3)
            time.sleep(SETTLE)
            server.stop_hard()
            server.deliver(user, meanwhile[1])  # an MDA keeps delivering while IMAP is down
            d.wait("reconnecting in", count=3)
            # The outage lasts until the watchers' backoff has brought them back to a closed port (the proxy
            # resets those connections) at least twice.
            deadline = time.monotonic() + 30
            while proxy.refused < 2:
                assert time.monotonic() < deadline, "nothing tried to reconnect during the outage"
                time.sleep(0.05)
            refused = proxy.refused
            server.start()
            restarted = time.monotonic()
            d.wait("watcher reconnected", count=3)
            h.load(server, user, [afterwards])
            _wait_own(server, user, want, "the drafts after the restart")
            took = time.monotonic() - restarted
            time.sleep(SETTLE)
            own = h.own_messages(server, user)
            assert h.without_digest(own) == want and h.digests(own) == 1
            assert d.text().count("introd started") == 1 and "crashed" not in d.text()
            assert d.stop() == 0
        finally:
            proxy.close()
            server.stop_hard()  # quicker than the polite stop at cleanup
        print(f"server restart: {refused} reconnects refused while down; both intros drafted {took:.1f} s "
              "after the restart")
        assert h.integrity(tmp_path / "state.db") == "ok"
    h.record_count("server_restarts", 1)


SETTLE = 0.8  # Dovecot tells IDLE ~0.5 s after a change; a debounce and a pass later the daemon is quiet again
