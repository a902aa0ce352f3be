"""ImapStore.fetch_headers reads one UID FETCH straight off the connection: on the real Dovecot, and through a
proxy that cuts or freezes the connection half-way through the answer."""

from __future__ import annotations

import socket
import time
from collections.abc import Generator, Iterator
from datetime import datetime, timedelta, timezone

import pytest
from tests.servers.dovecot import DovecotServer, MailUser, imap_client
from tests.servers.proxy import Fault, TcpProxy

from introd.config import AccountConfig
from introd.errors import MailStoreError, TransientError
from introd.mailstore.base import HeaderFetch
from introd.mailstore.imap import _HEADER_ITEMS, ImapStore

pytestmark = pytest.mark.dovecot

WHEN = datetime(2026, 3, 2, 10, 0, tzinfo=timezone.utc)
HEADER_FETCH = rb"UID FETCH \d+:\* \(UID [^\r\n]*HEADER\.FIELDS[^\r\n]*\r\n"


def message(n: int, pad: int = 0) -> bytes:
    """A message whose indexed headers are about ``pad`` bytes long (a long References header)."""
    refs = " ".join(f"<r{n}.{i}@example.org>" for i in range(pad // 22))
    return (
        f"From: Sender {n} <s{n}@example.org>\r\nTo: user@example.test\r\nSubject: Hello {n}\r\n"
        f"Date: Mon, 02 Mar 2026 10:00:00 +0000\r\nMessage-ID: <m{n}@example.org>\r\n"
        + (f"References: {refs}\r\n" if refs else "")
        + f"X-Not-Indexed: {n}\r\nContent-Type: text/plain\r\n\r\nBody {n}\r\n"
    ).encode()


def seed(server: DovecotServer, user: MailUser, count: int, pad: int = 0) -> None:
    """``count`` messages in INBOX in one MULTIAPPEND; every third is \\Flagged, every fifth unseen."""
    client = imap_client(server, user)
    try:
        msgs = [{"msg": message(n, pad), "date": WHEN + timedelta(minutes=n),
                 "flags": tuple(f for f, on in (("\\Seen", n % 5), ("\\Flagged", n % 3 == 0)) if on)}
                for n in range(count)]
        for start in range(0, count, 500):
            client.multiappend("INBOX", msgs[start:start + 500])
    finally:
        client.logout()


def reference(server: DovecotServer, user: MailUser) -> list[tuple[object, ...]]:
    """The same data through imapclient's generic FETCH."""
    client = imap_client(server, user)
    try:
        client.select_folder("INBOX", readonly=True)
        data = client.fetch(client.search("ALL"), ["UID", "FLAGS", "INTERNALDATE", "RFC822.SIZE", _HEADER_ITEMS])
        out: list[tuple[object, ...]] = []
        for uid, d in sorted(data.items()):
            header = next(v for k, v in d.items() if k.startswith(b"BODY[HEADER"))
            flags = tuple(f.decode() for f in d[b"FLAGS"] if f != b"\\Recent")
            out.append((uid, flags, d[b"INTERNALDATE"].replace(tzinfo=None), d[b"RFC822.SIZE"], header))
        return out
    finally:
        client.logout()


def as_tuple(h: HeaderFetch) -> tuple[object, ...]:
    local = h.internaldate.astimezone().replace(tzinfo=None)  # imapclient returns local naive datetimes
    return (h.uid, h.flags, local, h.size, h.header_bytes)


def account(host: str, port: int, user: MailUser, timeout: float = 30) -> AccountConfig:
    return AccountConfig(name="work", addresses=(user.email,), host=host, port=port, security="plain",
                         username=user.username, timeout=timeout)


@pytest.fixture
def store(dovecot: DovecotServer, mail_user: MailUser) -> Iterator[ImapStore]:
    opened = ImapStore.connect(account(dovecot.host, dovecot.port, mail_user), mail_user.password)
    yield opened
    opened.close()


@pytest.fixture
def proxy(dovecot: DovecotServer) -> Iterator[TcpProxy]:
    p = TcpProxy(dovecot.host, dovecot.port)
    yield p
    p.close()


def session_is_clean(store: ImapStore) -> None:
    """imaplib is ready for the next command: no pending tags, no unread bytes, and it still answers."""
    imap = store.client._imap
    assert imap.tagged_commands == {}
    assert "FETCH" not in imap.untagged_responses
    assert store.client.noop()[0].startswith(b"NOOP completed")
    assert store.status("INBOX").exists > 0


def test_stream_matches_a_generic_fetch(dovecot: DovecotServer, mail_user: MailUser, store: ImapStore) -> None:
    """Every field equals what imapclient's generic parser makes of the same FETCH; two commands in all."""
    seed(dovecot, mail_user, 300, pad=300)
    want = reference(dovecot, mail_user)
    before = store.stats.commands
    got = [as_tuple(h) for h in store.fetch_headers("INBOX")]
    assert got == want and len(got) == 300
    assert store.stats.commands - before == 2  # EXAMINE + one UID FETCH
    assert store.stats.headers_fetched == 300
    assert [h.uid for h in store.fetch_headers("INBOX", 250)] == [u[0] for u in want[250:]]
    assert list(store.fetch_headers("INBOX", 300)) == []
    session_is_clean(store)


def test_abandoned_generator_leaves_the_session_usable(dovecot: DovecotServer, mail_user: MailUser,
                                                       store: ImapStore) -> None:
    """Closing a half-read fetch drains the rest of the answer; the next commands see a clean session."""
    seed(dovecot, mail_user, 400, pad=2000)
    gen = store.fetch_headers("INBOX")
    assert isinstance(gen, Generator)
    assert [next(gen).uid for _ in range(3)] == [1, 2, 3]
    gen.close()
    session_is_clean(store)
    for h in store.fetch_headers("INBOX"):  # leaving a for loop early drops the generator the same way
        if h.uid == 10:
            break
    assert [h.uid for h in store.fetch_headers("INBOX", 390)] == list(range(391, 401))
    session_is_clean(store)


def test_another_command_interrupts_an_open_fetch(dovecot: DovecotServer, mail_user: MailUser,
                                                  store: ImapStore) -> None:
    """A store command while a fetch generator is open drains it first; resuming that generator then fails
    loudly instead of ending early as if the folder were shorter."""
    seed(dovecot, mail_user, 200, pad=2000)
    gen = store.fetch_headers("INBOX")
    assert next(gen).uid == 1
    assert store.status("INBOX").exists == 200
    with pytest.raises(MailStoreError, match="interrupted by another command"):
        next(gen)
    assert len(list(store.fetch_headers("INBOX"))) == 200
    session_is_clean(store)


def test_new_mail_and_flag_changes_during_the_fetch(dovecot: DovecotServer, mail_user: MailUser,
                                                    store: ImapStore) -> None:
    """Mail that arrives while the answer is still streaming: Dovecot reports it (EXISTS) inside the answer,
    the reader hands that to imaplib, and the next incremental call fetches the new message."""
    seed(dovecot, mail_user, 800, pad=12000)  # ~10 MB: more than the socket buffers, so the server is mid-way
    store.client.socket().setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)
    gen = store.fetch_headers("INBOX")
    got = [next(gen)]
    other = imap_client(dovecot, mail_user)
    try:
        other.append("INBOX", message(999), flags=("\\Seen",), msg_time=WHEN)
        other.select_folder("INBOX")
        other.add_flags([2, 400], [b"\\Answered"])
    finally:
        other.logout()
    untagged = store.client._imap.untagged_responses
    untagged.clear()
    got += list(gen)
    assert [h.uid for h in got] == list(range(1, 801))
    assert untagged.get("EXISTS") == [b"801"]  # read inside the FETCH answer, stored the way imaplib does
    assert [h.uid for h in store.fetch_headers("INBOX", 800)] == [801]
    assert "\\Answered" in store.fetch_flags("INBOX", [400])[400]
    session_is_clean(store)


@pytest.mark.parametrize("fault", [
    Fault(command=HEADER_FETCH, response_bytes=300_000),
    Fault(command=HEADER_FETCH, literal_fraction=0.5),
], ids=["cut after 300 KB", "cut inside the first literal"])
def test_cut_mid_stream_raises_transient(dovecot: DovecotServer, mail_user: MailUser, proxy: TcpProxy,
                                         fault: Fault) -> None:
    """A connection reset inside the answer raises TransientError at once: no hang, no partial record."""
    seed(dovecot, mail_user, 300, pad=2000)
    want = {w[0]: w[4] for w in reference(dovecot, mail_user)}
    store = ImapStore.connect(account(proxy.host, proxy.port, mail_user, timeout=10), mail_user.password)
    try:
        proxy.arm(fault)
        got: list[HeaderFetch] = []
        start = time.monotonic()
        with pytest.raises(TransientError, match="UID FETCH INBOX"):
            for h in store.fetch_headers("INBOX"):
                got.append(h)
        assert time.monotonic() - start < 5
        assert proxy.fired and len(got) < 300
        assert all(h.header_bytes == want[h.uid] for h in got)
        assert [h.uid for h in got] == list(range(1, len(got) + 1))
        with pytest.raises(TransientError):  # the connection is gone: later commands say so
            store.status("INBOX")
    finally:
        store.close()
    again = ImapStore.connect(account(proxy.host, proxy.port, mail_user), mail_user.password)
    try:
        assert len(list(again.fetch_headers("INBOX"))) == 300
    finally:
        again.close()


def test_stalled_stream_times_out(dovecot: DovecotServer, mail_user: MailUser, proxy: TcpProxy) -> None:
    """A connection that goes silent half-way raises TransientError after the socket timeout."""
    seed(dovecot, mail_user, 500, pad=12000)
    store = ImapStore.connect(account(proxy.host, proxy.port, mail_user, timeout=2), mail_user.password)
    store.client.socket().setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    try:
        gen = store.fetch_headers("INBOX")
        next(gen)
        assert proxy.freeze() == 1
        start = time.monotonic()
        with pytest.raises(TransientError, match="timed out"):
            list(gen)
        assert time.monotonic() - start < 15
    finally:
        store.close()


def test_tagged_no_is_a_mailstore_error(store: ImapStore, monkeypatch: pytest.MonkeyPatch,
                                        dovecot: DovecotServer, mail_user: MailUser) -> None:
    """A server that refuses the fetch (here: an unknown item) gives MailStoreError; the session goes on."""
    seed(dovecot, mail_user, 3)
    monkeypatch.setattr("introd.mailstore.imap._HEADER_ITEMS", "BODY.PEEK[NOSUCHSECTION]")
    with pytest.raises(MailStoreError, match="UID FETCH failed: BAD") as info:
        list(store.fetch_headers("INBOX"))
    assert not isinstance(info.value, TransientError)
    monkeypatch.undo()
    assert len(list(store.fetch_headers("INBOX"))) == 3
    session_is_clean(store)

