"""The IMAP mail store: imapclient for the session, a streaming reader for the bulk header fetch (RFC 3501, 9051)."""

from __future__ import annotations

import contextlib
import imaplib
import logging
import re
import socket
import ssl
from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime
from typing import Any

from imapclient import IMAPClient
from imapclient import exceptions as imap_exc

from introd.config import AccountConfig
from introd.errors import AuthenticationError, MailStoreError, TLSError, TransientError
from introd.mailstore.base import INDEX_HEADERS, FolderStatus, HeaderFetch, SpecialFolders, StoreStats
from introd.mailstore.fetch_parse import HeaderFetchReader
from introd.mailstore.folders import ListEntry, parents, resolve_special_folders

log = logging.getLogger(__name__)

_MAX_UID = 4294967295  # UIDs are 32-bit (RFC 3501 2.3.1.1)
# Messages above this size are fetched as their text parts only: bounded memory whatever is attached.
WHOLE_FETCH_MAX = 1024 * 1024
TEXT_PART_MAX = 256 * 1024  # bytes of each text part (the parser keeps far less of the text anyway)
TEXT_PARTS_MAX = 8
_MAX_DEPTH = 40
_APPENDUID = re.compile(rb"\[APPENDUID (\d+) (\d+)\]", re.IGNORECASE)
_HEADER_ITEMS = "BODY.PEEK[HEADER.FIELDS ({})]".format(" ".join(h.upper() for h in INDEX_HEADERS))


def _norm_id(message_id: str) -> str:
    return message_id.strip().strip("<>").strip()


def _tls_context(account: AccountConfig) -> ssl.SSLContext:
    """System trust plus ``ca_file``; certificates and hostnames are always verified."""
    context = ssl.create_default_context()
    if account.ca_file:
        context.load_verify_locations(cafile=account.ca_file)
    context.check_hostname = True
    context.verify_mode = ssl.CERT_REQUIRED
    return context


def _scrub(text: str, secret: str) -> str:
    return text.replace(secret, "***") if secret else text


def _connect_error(where: str, exc: BaseException) -> Exception:
    """Map a failure while connecting to one of introd's one-line errors."""
    if isinstance(exc, ssl.SSLCertVerificationError):
        reason = exc.verify_message or str(exc)
        return TLSError(f"{where}: TLS certificate verify failed: {reason}")
    if isinstance(exc, ssl.CertificateError):  # pragma: no cover - alias of the above on 3.7+
        return TLSError(f"{where}: TLS certificate verify failed: {exc}")
    if isinstance(exc, ssl.SSLError):
        return TLSError(f"{where}: TLS handshake failed: {exc.reason or exc}")
    if isinstance(exc, ConnectionRefusedError):
        return TransientError(f"{where}: connection refused")
    if isinstance(exc, (socket.timeout, TimeoutError)):
        return TransientError(f"{where}: timed out")
    if isinstance(exc, socket.gaierror):
        return TransientError(f"{where}: cannot resolve host: {exc.strerror or exc}")
    if isinstance(exc, imaplib.IMAP4.abort):
        return TransientError(f"{where}: connection lost: {exc}")
    if isinstance(exc, OSError):
        return TransientError(f"{where}: {exc.strerror or exc}")
    return MailStoreError(f"{where}: {exc}")


class ImapStore:
    """A MailStore over one logged-in IMAP connection; folders are only EXAMINEd, never marked \\Seen."""

    def __init__(self, client: IMAPClient, where: str) -> None:
        self._client = client
        self._where = where
        self._caps: frozenset[str] | None = None
        self._special: SpecialFolders | None = None
        self._entries: list[ListEntry] | None = None
        self._selected: tuple[str, bool] | None = None
        self._closed = False
        self._inflight: HeaderFetchReader | None = None  # a header fetch whose answer is still being read
        self.stats = StoreStats()

    # -- connection -------------------------------------------------------------------------------------

    @classmethod
    def connect(cls, account: AccountConfig, password: str) -> ImapStore:
        """Open, secure (implicit TLS or STARTTLS), and log in; failures become one-line introd errors."""
        where = f"{account.host}:{account.port}"
        if account.security == "plain" and not account.is_loopback:
            raise TLSError(f"{where}: refusing plain (unencrypted) IMAP to a non-loopback host")
        if account.security not in ("tls", "starttls", "plain"):
            raise MailStoreError(f"{where}: unknown security {account.security!r}")
        client: IMAPClient | None = None
        try:
            context = _tls_context(account) if account.security != "plain" else None
        except (OSError, ssl.SSLError) as exc:
            raise TLSError(f"{where}: cannot load ca_file {account.ca_file}: {exc}") from exc
        try:
            client = IMAPClient(account.host, port=account.port, ssl=account.security == "tls",
                                ssl_context=context, timeout=account.timeout)
            if account.security == "starttls":
                try:
                    client.starttls(context)
                except imap_exc.CapabilityError as exc:
                    raise TLSError(f"{where}: server does not offer STARTTLS") from exc
            try:
                if account.auth == "password":
                    client.login(account.username, password)
                else:
                    _oauth_login(client, account, password, where)
            except imap_exc.LoginError as exc:
                detail = _scrub(re.sub(r"^b(['\"])(.*)\1$", r"\2", str(exc).strip()), password).strip()
                raise AuthenticationError(
                    f"{where}: login rejected for user {account.username}"
                    + (f": {detail}" if detail else "")
                ) from None
        except (TLSError, AuthenticationError):
            _quiet_shutdown(client)
            raise
        except (OSError, imaplib.IMAP4.error) as exc:
            _quiet_shutdown(client)
            mapped = _connect_error(where, exc)
            raise mapped from exc
        if not log.isEnabledFor(logging.DEBUG) and not logging.getLogger("imapclient").isEnabledFor(
            logging.DEBUG
        ):
            # imaplib formats every response line for its debug log; skip that cost on bulk fetches.
            client._imap.debug = 0
        log.debug("%s: logged in as %s over %s", where, account.username, account.security)
        return cls(client, where)

    @property
    def client(self) -> IMAPClient:
        """The logged-in imapclient session (the daemon's IDLE watcher drives it directly)."""
        return self._client

    def refresh(self) -> None:
        """Before a pass on a long-lived connection: forget the cached folder list (the user may have changed
        folders) and leave the selected folder, because a server may answer STATUS on the selected folder
        from this session's stale view (RFC 3501 6.3.10: STATUS SHOULD NOT be used on it)."""
        self._entries = None
        self._special = None
        if self._selected is None:
            return
        folder, readonly = self._selected
        with self._errors(f"UNSELECT {folder}"):
            self.stats.commands += 1
            if "UNSELECT" in self.capabilities():
                self._client.unselect_folder()
            else:
                if not readonly:  # CLOSE after SELECT would expunge \Deleted mail that is not introd's
                    self._client.select_folder(folder, readonly=True)
                self._client.close_folder()  # after EXAMINE, CLOSE removes nothing
        self._selected = None

    def abort(self) -> None:
        """Shut the socket down from another thread so a blocked command fails at once (shutdown)."""
        with contextlib.suppress(Exception):
            self._client.socket().shutdown(socket.SHUT_RDWR)

    def close(self) -> None:
        """Log out; safe to call twice and after the connection died."""
        if self._closed:
            return
        self._closed = True
        if self._inflight is not None:  # a header fetch still streaming: no clean LOGOUT behind it
            self._inflight = None
            _quiet_shutdown(self._client)
            return
        try:
            self._client.logout()
        except Exception:  # the connection may already be gone; nothing to recover
            log.debug("%s: logout failed", self._where, exc_info=True)
            _quiet_shutdown(self._client)

    @contextlib.contextmanager
    def _errors(self, what: str) -> Iterator[None]:
        """Map socket/protocol failures inside one operation to TransientError or MailStoreError."""
        if self._closed:
            raise MailStoreError(f"{self._where}: {what}: the store is closed")
        try:
            if self._inflight is not None:  # a fetch_headers generator left open: read the rest of its answer
                self._finish_fetch(self._inflight)
            yield
        except (TransientError, MailStoreError):
            raise
        except imaplib.IMAP4.abort as exc:
            self._selected = None
            raise TransientError(f"{self._where}: {what}: connection lost: {exc}") from exc
        except (OSError, EOFError) as exc:
            self._selected = None
            raise _connect_error(f"{self._where}: {what}", exc) from exc
        except imaplib.IMAP4.error as exc:  # NO / BAD: retrying will not help
            raise MailStoreError(f"{self._where}: {what}: {exc}") from exc

    # -- discovery ----------------------------------------------------------------------------------------

    def capabilities(self) -> frozenset[str]:
        """Upper-case capability names, as the server reported them after login."""
        if self._caps is None:
            with self._errors("CAPABILITY"):
                raw = self._client.capabilities()
                self._caps = frozenset(c.decode("ascii", "replace").upper() for c in raw)
        return self._caps

    def _list(self) -> list[ListEntry]:
        if self._entries is not None:
            return self._entries
        caps = self.capabilities()
        with self._errors("LIST"):
            self.stats.commands += 1
            if "SPECIAL-USE" in caps and "LIST-EXTENDED" in caps:
                imap = self._client._imap
                typ, data = imap._simple_command("LIST", '""', '"*"', "RETURN", "(SPECIAL-USE)")
                if typ != "OK":
                    raise imaplib.IMAP4.error(f"LIST failed: {data}")
                _, data = imap._untagged_response(typ, data, "LIST")
                rows = self._client._proc_folder_list(data)
            else:
                rows = self._client.list_folders()
        entries = []
        for flags, delim, name in rows:
            entries.append(ListEntry(
                name=str(name),
                flags=frozenset(_text(f) for f in flags),
                delimiter=delim.decode("ascii") if isinstance(delim, bytes) else delim,
            ))
        self._entries = entries
        return entries

    def special_folders(self) -> SpecialFolders:
        """INBOX, Sent, Drafts, Archive from SPECIAL-USE attributes, then common names (RFC 6154); cached."""
        if self._special is None:
            self._special = resolve_special_folders(self._list())
        return self._special

    def list_folders(self) -> list[str]:
        """Every selectable folder name (decoded from modified UTF-7)."""
        return [e.name for e in self._list() if e.selectable]

    def ensure_folder(self, folder: str) -> None:
        """Create ``folder`` and its parents (split on the server's delimiter) and subscribe to it."""
        existing = {e.name for e in self._list()}
        delimiter = self.special_folders().delimiter
        for name in [*parents(folder, delimiter), folder]:
            if name in existing:
                continue
            with self._errors(f"CREATE {name}"):
                self.stats.commands += 2
                try:
                    self._client.create_folder(name)
                except imaplib.IMAP4.error as exc:
                    if "ALREADYEXISTS" not in str(exc).upper():
                        raise
                self._client.subscribe_folder(name)
            log.info("%s: created folder %s", self._where, name)
        self._entries = None
        self._special = None

    # -- reading -----------------------------------------------------------------------------------------

    def status(self, folder: str) -> FolderStatus:
        """UIDVALIDITY, UIDNEXT, MESSAGES and (with CONDSTORE) HIGHESTMODSEQ via STATUS (RFC 3501, 7162)."""
        what = ["UIDVALIDITY", "UIDNEXT", "MESSAGES"]
        if "CONDSTORE" in self.capabilities():
            what.append("HIGHESTMODSEQ")
        with self._errors(f"STATUS {folder}"):
            self.stats.commands += 1
            raw = self._client.folder_status(folder, what)
        data = {(k.decode() if isinstance(k, bytes) else str(k)).upper(): v for k, v in raw.items()}
        modseq = data.get("HIGHESTMODSEQ")
        return FolderStatus(uidvalidity=int(data["UIDVALIDITY"]), uidnext=int(data["UIDNEXT"]),
                            exists=int(data["MESSAGES"]),
                            highestmodseq=int(modseq) if modseq is not None else None)

    def _select(self, folder: str, readonly: bool = True, fresh: bool = False) -> dict[bytes, Any]:
        """EXAMINE (readonly) or SELECT ``folder`` unless it already is; ``fresh`` re-selects (new mail)."""
        if not fresh and self._selected == (folder, readonly):
            return {}
        with self._errors(f"{'EXAMINE' if readonly else 'SELECT'} {folder}"):
            self.stats.commands += 1
            self._selected = None
            response: dict[bytes, Any] = self._client.select_folder(folder, readonly=readonly)
        self._selected = (folder, readonly)
        return response

    def fetch_headers(self, folder: str, after_uid: int = 0) -> Iterator[HeaderFetch]:
        """Index headers of messages with UID > after_uid, in UID order, as they arrive.

        One ``UID FETCH <after_uid+1>:*`` whose answer is read straight off the connection by
        HeaderFetchReader, a record at a time: memory stays bounded and imaplib's per-line work is skipped.
        A generator abandoned half-way drains the rest of the answer when it is closed; any other store
        command while it is open drains it too, and the abandoned generator then raises MailStoreError.
        """
        selected = self._select(folder, readonly=True, fresh=True)
        exists, uidnext = selected.get(b"EXISTS"), selected.get(b"UIDNEXT")
        if exists == 0 or (isinstance(uidnext, int) and uidnext <= after_uid + 1) or after_uid >= _MAX_UID:
            return  # nothing in the folder, or nothing above after_uid (RFC 3501 2.3.1.1: UIDNEXT)
        items = "(UID FLAGS INTERNALDATE RFC822.SIZE "
        if "X-GM-EXT-1" in self.capabilities():
            items += "X-GM-THRID "
        items += _HEADER_ITEMS + ")"
        with self._errors(f"UID FETCH {folder}"):
            self.stats.commands += 1
            reader = self._send_header_fetch(f"UID FETCH {after_uid + 1}:* {items}", after_uid)
            self._inflight = reader
            try:
                for record in reader.records:
                    self.stats.headers_fetched += 1
                    yield record
            except ValueError as exc:  # reading a closed file: close() ran while this generator was open
                if not self._closed:
                    raise
                raise MailStoreError(f"{self._where}: UID FETCH {folder}: the store is closed") from exc
            finally:
                self._finish_fetch(reader)
            if reader.discard:  # another command drained this fetch while the caller still iterated it
                raise MailStoreError(f"{self._where}: UID FETCH {folder}: interrupted by another command")

    def _send_header_fetch(self, command: str, after_uid: int) -> HeaderFetchReader:
        """Send a tagged command on imaplib's connection and return a reader for its answer.

        Mirrors imaplib's own bookkeeping (a fresh tag, stale OK/NO/BAD dropped, unsolicited responses
        stored in ``untagged_responses``), so the session goes on as if imaplib had run the command."""
        imap = self._client._imap
        for typ in ("OK", "NO", "BAD", "FETCH"):
            imap.untagged_responses.pop(typ, None)
        tag: bytes = imap._new_tag()
        imap.tagged_commands.pop(tag, None)  # the answer is read here, never by imaplib
        imap.send(tag + b" " + command.encode("ascii") + b"\r\n")
        # Up to Python 3.13 imaplib reads through ``file`` (a BufferedReader): read it directly. From 3.14
        # imaplib buffers reads itself and ``file`` must not be read behind its back: use its read/readline.
        file = None if isinstance(getattr(type(imap), "file", None), property) else getattr(imap, "file", None)
        if file is not None:
            readline, read = file.readline, file.read
        else:
            def readline(_limit: int) -> bytes:
                line: bytes = imap.readline()  # checks imaplib's own line limit
                return line
            read = imap.read
        return HeaderFetchReader(readline, read, tag, after_uid, imap._append_untagged)

    def _finish_fetch(self, reader: HeaderFetchReader) -> None:
        """Leave the connection ready for the next command: read what is left of an abandoned fetch; a fetch
        that failed half-way (connection lost, garbage) cannot be resynchronised, so the socket is shut."""
        if self._inflight is reader:
            self._inflight = None
        if reader.done:
            return
        reader.discard = True
        try:
            for _ in reader.records:
                pass
        except Exception:  # the connection is unusable; the original error (if any) is already on its way
            log.debug("%s: draining UID FETCH failed", self._where, exc_info=True)
        if not reader.done:
            self._selected = None
            self.abort()

    def fetch_messages(self, folder: str, uids: Sequence[int]) -> Iterator[tuple[int, bytes]]:
        """Bytes of the given messages via BODY.PEEK[] (never sets \\Seen), in UID order; a message larger
        than WHOLE_FETCH_MAX comes back as its header and text parts only (BODYSTRUCTURE, RFC 3501 7.4.2),
        so a 50 MB attachment is never downloaded."""
        if not uids:
            return
        wanted = sorted(set(uids))
        self._select(folder, readonly=True)
        with self._errors(f"UID FETCH RFC822.SIZE {folder}"):
            self.stats.commands += 1
            sizes = {int(u): int(d.get(b"RFC822.SIZE", 0)) for u, d in self._client.fetch(wanted, ["RFC822.SIZE"])
                     .items()}
        small = [u for u in wanted if u in sizes and sizes[u] <= WHOLE_FETCH_MAX]
        response: dict[int, Any] = {}
        if small:
            with self._errors(f"UID FETCH BODY {folder}"):
                self.stats.commands += 1
                response = self._client.fetch(small, ["BODY.PEEK[]"])
        for uid in wanted:
            if uid not in sizes:
                continue
            if sizes[uid] > WHOLE_FETCH_MAX:
                raw = self._text_parts(folder, uid)
            else:
                body = response.get(uid, {}).get(b"BODY[]")
                if body is None:
                    continue
                raw = bytes(body)
            self.stats.bodies_fetched += 1
            yield uid, raw

    def _text_parts(self, folder: str, uid: int) -> bytes:
        """A large message rebuilt from its header and (the start of) its text/plain and text/html parts."""
        with self._errors(f"UID FETCH BODYSTRUCTURE {folder}"):
            self.stats.commands += 1
            data = self._client.fetch([uid], ["BODYSTRUCTURE", "BODY.PEEK[HEADER]"]).get(uid, {})
            header = bytes(data.get(b"BODY[HEADER]") or b"")
            structure = data.get(b"BODYSTRUCTURE")
            if structure is None:
                return header
            if not structure.is_multipart:
                if not _is_text(structure):
                    return header
                self.stats.commands += 1
                text = self._client.fetch([uid], [f"BODY.PEEK[TEXT]<0.{TEXT_PART_MAX}>"]).get(uid, {})
                return header + _section(text, b"BODY[TEXT]")
            sections = list(_text_sections(structure))[:TEXT_PARTS_MAX]
            items = [item for s in sections for item in (f"BODY.PEEK[{s}.MIME]", f"BODY.PEEK[{s}]<0.{TEXT_PART_MAX}>")]
            self.stats.commands += 1
            parts = self._client.fetch([uid], items).get(uid, {}) if items else {}
        boundary = f"introd-text-parts-{uid}".encode()
        out = [_without_content_headers(header),
               b'Content-Type: multipart/mixed; boundary="' + boundary + b'"\r\n\r\n']
        for s in sections:
            mime = _section(parts, f"BODY[{s}.MIME]".encode())
            out += [b"--" + boundary + b"\r\n", mime or b"Content-Type: text/plain\r\n\r\n",
                    _section(parts, f"BODY[{s}]".encode()), b"\r\n"]
        out.append(b"--" + boundary + b"--\r\n")
        return b"".join(out)

    def fetch_flags(self, folder: str, uids: Iterable[int]) -> dict[int, tuple[str, ...]]:
        """Current flags of the given UIDs; expunged UIDs are absent."""
        wanted = sorted(set(uids))
        if not wanted:
            return {}
        self._select(folder, readonly=True, fresh=True)
        with self._errors(f"UID FETCH FLAGS {folder}"):
            self.stats.commands += 1
            response = self._client.fetch(wanted, ["FLAGS"])
        out: dict[int, tuple[str, ...]] = {}
        for uid, data in response.items():
            if int(uid) in wanted and b"FLAGS" in data:
                out[int(uid)] = tuple(_text(f) for f in data[b"FLAGS"] if _text(f) != "\\Recent")
        return out

    def _message_ids(self, uids: Sequence[int]) -> dict[int, str]:
        """Message-ID (no brackets) of each UID in the selected folder."""
        self.stats.commands += 1
        response = self._client.fetch(list(uids), ["BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)]"])
        out: dict[int, str] = {}
        for uid, data in response.items():
            raw = next((v for k, v in data.items() if k.startswith(b"BODY[HEADER")), b"") or b""
            unfolded = bytes(raw).replace(b"\r\n", b"\n").replace(b"\n ", b" ").replace(b"\n\t", b" ")
            m = re.search(rb"^message-id:\s*(.*?)\s*$", unfolded, re.IGNORECASE | re.MULTILINE)
            out[int(uid)] = _norm_id(m.group(1).decode("utf-8", "replace")) if m else ""
        return out

    def find_message_id(self, folder: str, message_id: str) -> list[int]:
        """UIDs whose Message-ID equals ``message_id`` (SEARCH HEADER, then an exact re-check)."""
        wanted = _norm_id(message_id)
        self._select(folder, readonly=True, fresh=True)
        with self._errors(f"UID SEARCH {folder}"):
            self.stats.commands += 1
            hits = self._client.search(["HEADER", "Message-ID", f"<{wanted}>"])
            if not hits:
                return []
            ids = self._message_ids(sorted(int(u) for u in hits))
        return sorted(uid for uid, mid in ids.items() if mid == wanted)

    # -- writing -----------------------------------------------------------------------------------------

    def append(self, folder: str, message: bytes, flags: Sequence[str], internaldate: datetime) -> int | None:
        """APPEND one message; returns its UID from APPENDUID when the server has UIDPLUS (RFC 4315)."""
        with self._errors(f"APPEND {folder}"):
            self.stats.commands += 1
            response = self._client.append(folder, message, flags=tuple(flags), msg_time=internaldate)
        self.stats.appended += 1
        m = _APPENDUID.search(response if isinstance(response, bytes) else str(response).encode())
        return int(m.group(2)) if m else None

    def delete_own(self, folder: str, uid: int, message_id: str) -> bool:
        """Expunge exactly one message introd wrote, after re-checking its Message-ID (UID EXPUNGE, RFC 4315).

        Returns False when the UID is gone or now holds another message; never runs a plain EXPUNGE.
        """
        if "UIDPLUS" not in self.capabilities():
            raise MailStoreError(f"{self._where}: server lacks UIDPLUS: cannot expunge one message safely")
        self._select(folder, readonly=False, fresh=True)
        try:
            with self._errors(f"delete UID {uid} in {folder}"):
                current = self._message_ids([uid]).get(uid)
                if current is None:
                    return False
                if current != _norm_id(message_id):
                    log.warning("%s: not deleting %s UID %d: its Message-ID is <%s>, not <%s>",
                                self._where, folder, uid, current, _norm_id(message_id))
                    return False
                self.stats.commands += 2
                self._client.add_flags([uid], [b"\\Deleted"], silent=True)
                self._client.uid_expunge([uid])
        finally:
            # Leave the read-write selection at once so nothing else can run with write access.
            self._selected = None
            with contextlib.suppress(Exception):
                if not self._closed:
                    self._select(folder, readonly=True)
        return True


def _oauth_login(client: IMAPClient, account: AccountConfig, token: str, where: str) -> None:
    """AUTHENTICATE XOAUTH2 or OAUTHBEARER with the access token (RFC 7628); a NO becomes LoginError."""
    from introd.oauth import sasl_response

    mech, initial = sasl_response(account, token)
    caps = {c.decode("ascii", "replace").upper() for c in client.capabilities()}
    if f"AUTH={mech}" not in caps:
        raise AuthenticationError(f"{where}: server does not offer AUTH={mech} (auth = \"{account.auth}\")")
    sent = []

    def respond(_challenge: bytes) -> bytes:
        # The first continuation gets the token; a second one carries the server's JSON error and
        # wants an empty answer before the tagged NO (RFC 7628 section 3.2.3).
        sent.append(1)
        return initial if len(sent) == 1 else b""

    try:
        client._imap.authenticate(mech, respond)
    except imaplib.IMAP4.abort:
        raise
    except imaplib.IMAP4.error as exc:
        raise imap_exc.LoginError(str(exc)) from None


def _is_text(part: Any) -> bool:
    """A text/plain or text/html leaf of a BODYSTRUCTURE."""
    kind = part[0].lower() if isinstance(part[0], bytes) else b""
    sub = part[1].lower() if isinstance(part[1], bytes) else b""
    return kind == b"text" and sub in (b"plain", b"html")


def _text_sections(part: Any, prefix: str = "", depth: int = 0) -> Iterator[str]:
    """Section numbers (\"1\", \"2.1\", ...) of the text leaves of a multipart BODYSTRUCTURE, in order."""
    if depth > _MAX_DEPTH:
        return
    for n, child in enumerate(part[0], 1):
        if isinstance(child[0], list):
            yield from _text_sections(child, f"{prefix}{n}.", depth + 1)
        elif _is_text(child):
            yield f"{prefix}{n}"


def _section(data: dict[bytes, Any], name: bytes) -> bytes:
    """One body section of a FETCH answer, whether or not the server echoed a partial ``<origin>``."""
    for key, value in data.items():
        if key == name or (key.startswith(name + b"<") and key.endswith(b">")):
            return bytes(value or b"")
    return b""


def _without_content_headers(header: bytes) -> bytes:
    """A header block without Content-Type / Content-Transfer-Encoding (folded lines included), unterminated."""
    kept: list[bytes] = []
    skipping = False
    for line in header.replace(b"\r\n", b"\n").split(b"\n"):
        if not line.strip():
            continue
        if line[:1] in (b" ", b"\t"):
            if not skipping:
                kept.append(line)
            continue
        name = line.split(b":", 1)[0].strip().lower()
        skipping = name in (b"content-type", b"content-transfer-encoding")
        if not skipping:
            kept.append(line)
    return b"".join(line + b"\r\n" for line in kept)


def _text(value: object) -> str:
    return value.decode("ascii", "replace") if isinstance(value, bytes) else str(value)


def _quiet_shutdown(client: IMAPClient | None) -> None:
    if client is None:
        return
    with contextlib.suppress(Exception):
        client.shutdown()
