"""The Maildir mail store: the Maildir++ layout of mbsync and offlineimap (INBOX at the root, ".Sub.Folder").

Maildir has no UIDs, so each folder keeps a small sidecar file, ``introd-uids`` (no leading dot, so no
Maildir++ reader takes it for a folder), mapping each message's unique name to a UID. A file name that
carries ``,U=<n>`` (mbsync, offlineimap) gives its UID when that keeps UIDs increasing; otherwise the next
free UID is assigned. UIDs are never reused; losing the sidecar starts a new UIDVALIDITY. introd never renames
or rewrites the user's message files; it only creates and removes its own.

Bytes are returned with CRLF line endings, as IMAP servers send them; files are written with LF, as mbsync
and Dovecot store them. ``capabilities()`` is always empty: no IDLE, CONDSTORE or SPECIAL-USE here.
"""

from __future__ import annotations

import contextlib
import itertools
import logging
import mailbox
import os
import re
import socket
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from introd.errors import MailStoreError
from introd.mailstore.base import INDEX_HEADERS, FolderStatus, HeaderFetch, SpecialFolders, StoreStats
from introd.mailstore.folders import ListEntry, parents, resolve_special_folders

log = logging.getLogger(__name__)

DELIMITER = "."
SIDECAR = "introd-uids"
_COLON = ":"  # mailbox.Maildir.colon on POSIX
_U_RE = re.compile(r",U=(\d+)")
_S_RE = re.compile(r",S=(\d+)")
_INDEX = frozenset(h.lower().encode() for h in INDEX_HEADERS)
# IMAP system flag <-> Maildir info letter (https://cr.yp.to/proto/maildir.html)
FLAG_LETTERS = {"\\Draft": "D", "\\Flagged": "F", "$Forwarded": "P", "\\Answered": "R", "\\Seen": "S",
                "\\Deleted": "T"}
LETTER_FLAGS = {v: k for k, v in FLAG_LETTERS.items()}
_counter = itertools.count()


@dataclass
class _Entry:
    key: str
    path: Path
    info: str


def _crlf(data: bytes) -> bytes:
    return data.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")


def _norm_id(message_id: str) -> str:
    return message_id.strip().strip("<>").strip()


def flags_from_info(info: str) -> tuple[str, ...]:
    """IMAP flags from a Maildir info part like "2,DS" (keyword letters a-z are not mapped)."""
    if not info.startswith("2,"):
        return ()
    return tuple(LETTER_FLAGS[c] for c in info[2:] if c in LETTER_FLAGS)


def info_from_flags(flags: Iterable[str]) -> str:
    """The Maildir info part for IMAP flags ("2," plus letters in ASCII order)."""
    letters = sorted({FLAG_LETTERS[f] for f in flags if f in FLAG_LETTERS})
    return "2," + "".join(letters)


def read_header_block(path: Path) -> bytes:
    """The header section of a message file, up to (not including) the blank line."""
    with path.open("rb") as fh:
        data = b""
        while True:
            chunk = fh.read(16384)
            data += chunk
            for sep in (b"\n\n", b"\r\n\r\n"):
                end = data.find(sep)
                if end >= 0:
                    return data[:end + len(sep) // 2]
            if not chunk:
                return data


def select_headers(block: bytes, wanted: frozenset[bytes] = _INDEX) -> bytes:
    """Keep the wanted fields (and continuation lines) as CRLF lines plus a blank line, like HEADER.FIELDS."""
    out: list[bytes] = []
    keep = False
    for line in block.replace(b"\r\n", b"\n").split(b"\n"):
        if not line:
            continue
        if line[:1] in (b" ", b"\t"):
            if keep:
                out.append(line)
            continue
        name, colon, _ = line.partition(b":")
        keep = bool(colon) and name.strip().lower() in wanted
        if keep:
            out.append(line)
    return b"".join(x + b"\r\n" for x in out) + b"\r\n"


def _message_id(block: bytes) -> str:
    m = re.search(rb"^message-id:[ \t]*(.*(?:\n[ \t].*)*)", block.replace(b"\r\n", b"\n"),
                  re.IGNORECASE | re.MULTILINE)
    return _norm_id(m.group(1).decode("utf-8", "replace").replace("\n", " ")) if m else ""


class MaildirStore:
    """A MailStore over a local Maildir++ tree; INBOX is the root, subfolders use "." as delimiter."""

    def __init__(self, path: str) -> None:
        self.root = Path(path).expanduser()
        if not (self.root / "cur").is_dir():
            raise MailStoreError(f"{self.root}: not a Maildir (no cur/ directory)")
        self._md = mailbox.Maildir(str(self.root), factory=None, create=False)
        self.stats = StoreStats()
        self._closed = False

    # -- folders ------------------------------------------------------------------------------------------

    def _dir(self, folder: str) -> Path:
        if folder.upper() == "INBOX":
            return self.root
        if folder.upper().startswith("INBOX" + DELIMITER):
            folder = folder[len("INBOX" + DELIMITER):]
        if not folder or "/" in folder or folder.startswith(DELIMITER) or ".." in folder or "\0" in folder:
            raise MailStoreError(f"{self.root}: invalid folder name {folder!r}")
        return self.root / ("." + folder)

    def _existing_dir(self, folder: str) -> Path:
        path = self._dir(folder)
        if not (path / "cur").is_dir():
            raise MailStoreError(f"{self.root}: no folder {folder!r}")
        return path

    def capabilities(self) -> frozenset[str]:
        """Always empty: a local Maildir offers no IMAP extensions."""
        return frozenset()

    def list_folders(self) -> list[str]:
        """INBOX plus every Maildir++ subfolder that has a cur/ directory."""
        names = sorted(n for n in self._md.list_folders() if (self.root / ("." + n) / "cur").is_dir())
        return ["INBOX", *names]

    def special_folders(self) -> SpecialFolders:
        """Resolve Sent/Drafts/Archive by common names (Maildir has no SPECIAL-USE attributes)."""
        return resolve_special_folders(ListEntry(n, frozenset(), DELIMITER) for n in self.list_folders())

    def ensure_folder(self, folder: str) -> None:
        """Create ``folder`` and its parents as Maildir++ directories (with a maildirfolder marker)."""
        for name in [*parents(folder, DELIMITER), folder]:
            if name.upper() == "INBOX":
                continue
            path = self._dir(name)
            if not (path / "cur").is_dir():
                self._md.add_folder(path.name[1:])
                log.info("%s: created folder %s", self.root, name)

    # -- UIDs ---------------------------------------------------------------------------------------------

    def _scan(self, folder: str) -> tuple[int, int, dict[int, _Entry]]:
        """(uidvalidity, uidnext, uid -> entry) for ``folder``, updating its sidecar when keys changed."""
        base = self._existing_dir(folder)
        entries: dict[str, _Entry] = {}
        for sub in ("new", "cur"):
            with os.scandir(base / sub) as it:
                for d in it:
                    if d.name.startswith("."):
                        continue
                    key, _, info = d.name.partition(_COLON)
                    entries[key] = _Entry(key, Path(d.path), info)
        sidecar = base / SIDECAR
        uidvalidity, uidnext, known = _read_sidecar(sidecar)
        changed = uidvalidity == 0
        if changed:
            uidvalidity = int(time.time())
        mapped = {k: u for k, u in known.items() if k in entries}
        changed = changed or len(mapped) != len(known)
        new_keys = [k for k in entries if k not in mapped]
        if new_keys:
            changed = True

            def order(k: str) -> tuple[int, float, str]:
                m = _U_RE.search(k)
                return (int(m.group(1)) if m else 1 << 62, entries[k].path.stat().st_mtime, k)

            for key in sorted(new_keys, key=order):
                m = _U_RE.search(key)
                uid = int(m.group(1)) if m and int(m.group(1)) >= uidnext else uidnext
                mapped[key] = uid
                uidnext = uid + 1
        if changed:
            _write_sidecar(sidecar, uidvalidity, uidnext, mapped)
        return uidvalidity, uidnext, {uid: entries[key] for key, uid in mapped.items()}

    # -- reading ------------------------------------------------------------------------------------------

    def status(self, folder: str) -> FolderStatus:
        """UIDVALIDITY and UIDNEXT from the sidecar, message count from the directory (no HIGHESTMODSEQ)."""
        uidvalidity, uidnext, by_uid = self._scan(folder)
        return FolderStatus(uidvalidity=uidvalidity, uidnext=uidnext, exists=len(by_uid))

    def fetch_headers(self, folder: str, after_uid: int = 0) -> Iterator[HeaderFetch]:
        """Index headers of messages with UID > after_uid, in UID order."""
        _, _, by_uid = self._scan(folder)
        for uid in sorted(u for u in by_uid if u > after_uid):
            entry = by_uid[uid]
            try:
                block = read_header_block(entry.path)
                st = entry.path.stat()
            except FileNotFoundError:  # moved or deleted by a sync tool meanwhile
                continue
            size_m = _S_RE.search(entry.key)
            self.stats.headers_fetched += 1
            yield HeaderFetch(
                uid=uid,
                flags=flags_from_info(entry.info),
                internaldate=datetime.fromtimestamp(int(st.st_mtime), tz=timezone.utc),
                size=int(size_m.group(1)) if size_m else st.st_size,
                header_bytes=select_headers(block),
            )

    def fetch_messages(self, folder: str, uids: Sequence[int]) -> Iterator[tuple[int, bytes]]:
        """Full bytes of the given messages with CRLF line endings, in UID order."""
        _, _, by_uid = self._scan(folder)
        for uid in sorted(set(uids)):
            entry = by_uid.get(uid)
            if entry is None:
                continue
            try:
                data = entry.path.read_bytes()
            except FileNotFoundError:
                continue
            self.stats.bodies_fetched += 1
            yield uid, _crlf(data)

    def fetch_flags(self, folder: str, uids: Iterable[int]) -> dict[int, tuple[str, ...]]:
        """Flags from the file names' info part; missing UIDs are absent."""
        _, _, by_uid = self._scan(folder)
        return {uid: flags_from_info(by_uid[uid].info) for uid in set(uids) if uid in by_uid}

    def find_message_id(self, folder: str, message_id: str) -> list[int]:
        """UIDs whose Message-ID header equals ``message_id`` (reads every header block of the folder)."""
        wanted = _norm_id(message_id)
        _, _, by_uid = self._scan(folder)
        hits = []
        for uid in sorted(by_uid):
            with contextlib.suppress(FileNotFoundError):
                if _message_id(read_header_block(by_uid[uid].path)) == wanted:
                    hits.append(uid)
        return hits

    # -- writing ------------------------------------------------------------------------------------------

    def append(self, folder: str, message: bytes, flags: Sequence[str], internaldate: datetime) -> int | None:
        """Write a new message into cur/ with its flags and mtime = internaldate; returns its UID."""
        base = self._existing_dir(folder)
        now = time.time()
        host = socket.gethostname().replace("/", r"\057").replace(":", r"\072")
        key = f"{int(now)}.M{int(now % 1 * 1e6)}P{os.getpid()}Q{next(_counter)}.{host}"
        tmp = base / "tmp" / key
        final = base / "cur" / f"{key}{_COLON}{info_from_flags(flags)}"
        data = message.replace(b"\r\n", b"\n")
        try:
            with tmp.open("xb") as fh:
                fh.write(data)
                fh.flush()
                os.fsync(fh.fileno())
            stamp = internaldate.timestamp()
            os.utime(tmp, (stamp, stamp))
            os.link(tmp, final)  # fails rather than overwrite, as the Maildir spec asks
        except OSError as exc:
            raise MailStoreError(f"{base}: cannot write message: {exc.strerror or exc}") from exc
        finally:
            with contextlib.suppress(FileNotFoundError):
                tmp.unlink()
        self.stats.appended += 1
        _, _, by_uid = self._scan(folder)
        return next((uid for uid, e in by_uid.items() if e.key == key), None)

    def delete_own(self, folder: str, uid: int, message_id: str) -> bool:
        """Remove exactly that message's file after re-checking its Message-ID; False if gone or different."""
        _, _, by_uid = self._scan(folder)
        entry = by_uid.get(uid)
        if entry is None:
            return False
        try:
            current = _message_id(read_header_block(entry.path))
        except FileNotFoundError:
            return False
        if current != _norm_id(message_id):
            log.warning("%s: not deleting %s UID %d: its Message-ID is <%s>, not <%s>",
                        self.root, folder, uid, current, _norm_id(message_id))
            return False
        try:
            entry.path.unlink()
        except FileNotFoundError:
            return False
        return True

    def close(self) -> None:
        """Nothing to release; safe to call twice."""
        self._closed = True


def _read_sidecar(path: Path) -> tuple[int, int, dict[str, int]]:
    """(uidvalidity, uidnext, key -> uid); zeros when the file is missing or unreadable."""
    try:
        text = path.read_text("utf-8")
    except FileNotFoundError:
        return 0, 1, {}
    lines = text.splitlines()
    try:
        version, uidvalidity, uidnext = lines[0].split()
        if version != "1":
            raise ValueError(version)
        known: dict[str, int] = {}
        for line in lines[1:]:
            uid, key = line.split(" ", 1)
            known[key] = int(uid)
        return int(uidvalidity), int(uidnext), known
    except (ValueError, IndexError):
        log.warning("%s: unreadable UID list: starting a new UIDVALIDITY", path)
        return 0, 1, {}


def _write_sidecar(path: Path, uidvalidity: int, uidnext: int, known: dict[str, int]) -> None:
    """Write atomically (temp file + rename) so a crash never leaves half a UID list."""
    lines = [f"1 {uidvalidity} {uidnext}"]
    lines.extend(f"{uid} {key}" for key, uid in sorted(known.items(), key=lambda kv: kv[1]))
    tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    try:
        tmp.write_text("\n".join(lines) + "\n", "utf-8")
        os.replace(tmp, path)
    except OSError as exc:
        raise MailStoreError(f"{path}: cannot write the UID list: {exc.strerror or exc}") from exc
