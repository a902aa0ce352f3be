"""`introd demo`: one full pass over a bundled example mailbox, with a fixed clock and no network.

The mailbox (``maildir/`` beside this file, a Maildir++ tree: INBOX at the root, ``.Sent`` and ``.Drafts``)
belongs to Alice Ward, a commercial real estate advisor in St. Louis. It holds thirteen intro threads built
from the situations in docs/intro-model.md (an intro made without asking her, asked-first intros, a good
referral request, a forward-this-note request, a blanket self-promotional request, a salesy overture that
went unanswered, a stalled intro, one due a "how did it go?") and a dozen ordinary mails and look-alikes
(a newsletter "Introducing our new…", a calendar invite, an out-of-office, "let's meet at 3"). Its dates
are fixed so that, at ``DEMO_NOW``, every thread sits in a known stage.

The bundled files are only ever read: the demo copies them into a new directory, writes a config and
state file there, runs ``runner.run_once`` on the copy and prints what happened.
"""

from __future__ import annotations

import email.policy
import json
import os
import re
import tempfile
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timezone
from email.parser import BytesHeaderParser
from email.utils import parsedate_to_datetime
from importlib import resources
from importlib.abc import Traversable
from pathlib import Path
from typing import Any, TextIO

from introd.errors import UsageError

DEMO_NOW = datetime(2026, 3, 16, 14, 0, tzinfo=timezone.utc)  # Monday 9:00 in St. Louis
DEMO_USER = "alice@ward-advisory.example"
DEMO_NAME = "Alice Ward"
DEMO_TIMEZONE = "America/Chicago"
DEMO_ACCOUNT = "alice"
MAILDIR = "maildir"
ACTION_HEADER = "X-Introd-Action"
SUBJECT_WIDTH = 48
_DATE = re.compile(rb"^date:[ \t]*(.*)$", re.IGNORECASE | re.MULTILINE)
_MESSAGE_ID = re.compile(rb"^message-id:[ \t]*<?([^>\s]*)>?", re.IGNORECASE | re.MULTILINE)
_ACTION = re.compile(rb"^x-introd-action:", re.IGNORECASE | re.MULTILINE)


@dataclass(frozen=True)
class IntroRow:
    """One line of the demo's table."""

    subject: str
    role: str
    stage: str
    due: tuple[str, ...]  # due kinds, in the order the brain gave them
    message_ids: tuple[str, ...]


@dataclass(frozen=True)
class OwnMessage:
    """A message introd wrote into the mailbox (it carries an X-Introd-Action header)."""

    path: Path
    folder: str
    action: str  # the X-Introd-Action value, unfolded
    subject: str

    @property
    def kind(self) -> str:
        """The action's first word: the due kind of a draft, "reminder" for a reminder."""
        return self.action.split(";", 1)[0].strip()


def bundled_maildir() -> Traversable:
    """The example Maildir shipped inside the package."""
    return resources.files(__package__ or "introd.demo") / MAILDIR


def parse_now(value: str | None) -> datetime:
    """The demo clock from ``--now`` (ISO 8601; naive times are UTC), DEMO_NOW when not given."""
    if not value:
        return DEMO_NOW
    try:
        when = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise UsageError(f"--now: expected an ISO 8601 time such as 2026-03-16T14:00:00Z, got {value!r}") from None
    return when if when.tzinfo else when.replace(tzinfo=timezone.utc)


# -- setting up the copy ----------------------------------------------------------------------------------


def prepare_target(target: Path | None) -> Path:
    """A new or empty directory for the demo; a fresh temp dir (left in place) when ``target`` is None."""
    if target is None:
        return Path(tempfile.mkdtemp(prefix="introd-demo-"))
    target = target.expanduser().absolute()
    if target.exists():
        if not target.is_dir():
            raise UsageError(f"demo: {target} exists and is not a directory")
        if any(target.iterdir()):
            raise UsageError(f"demo: {target} is not empty; give a new or empty directory")
    else:
        try:
            target.mkdir(parents=True)
        except OSError as exc:
            raise UsageError(f"demo: cannot create {target}: {exc.strerror or exc}") from None
    return target


def copy_tree(src: Traversable, dest: Path) -> int:
    """Copy a packaged directory (works from a wheel, a zip or a source tree); returns the files copied."""
    dest.mkdir(parents=True, exist_ok=True)
    count = 0
    for item in sorted(src.iterdir(), key=lambda t: t.name):
        if item.is_dir():
            count += copy_tree(item, dest / item.name)
        else:
            (dest / item.name).write_bytes(item.read_bytes())
            count += 1
    return count


def message_date(path: Path) -> datetime | None:
    """The Date header of a message file, or None."""
    with path.open("rb") as fh:
        head = fh.read(16384).split(b"\n\n", 1)[0]
    m = _DATE.search(head)
    if not m:
        return None
    try:
        return parsedate_to_datetime(m.group(1).decode("ascii", "replace").strip())
    except (TypeError, ValueError):
        return None


def finish_maildir(root: Path) -> None:
    """Create the cur/new/tmp triplets packaging cannot carry, and date each file as its Date header says.

    A Maildir's file time is the message's INTERNALDATE; a fresh copy would otherwise look as if every
    message had arrived just now.
    """
    for folder in [root, *(p for p in root.iterdir() if p.is_dir() and p.name.startswith("."))]:
        for sub in ("cur", "new", "tmp"):
            (folder / sub).mkdir(exist_ok=True)
        for path in (folder / "cur").iterdir():
            when = message_date(path)
            if when is not None:
                stamp = when.timestamp()
                os.utime(path, (stamp, stamp))


def write_config(target: Path, maildir: Path) -> Path:
    """A config.toml for the demo account (a local Maildir: no IMAP, no network, no password)."""
    path = target / "config.toml"
    path.write_text(
        "# introd demo: Alice Ward's example mailbox, a local Maildir (no IMAP account, no network).\n"
        "# Try: introd status -c " + str(path) + "\n\n"
        "[state]\n"
        f"path = {json.dumps(str(target / 'state.sqlite3'))}\n\n"
        "[[accounts]]\n"
        f"name = {json.dumps(DEMO_ACCOUNT)}\n"
        "backend = \"maildir\"\n"
        f"maildir = {json.dumps(str(maildir))}\n"
        f"addresses = [{json.dumps(DEMO_USER)}]\n"
        f"display_name = {json.dumps(DEMO_NAME)}\n\n"
        "[timing]\n"
        f"timezone = {json.dumps(DEMO_TIMEZONE)}\n",
        "utf-8",
    )
    return path


# -- reading the result -----------------------------------------------------------------------------------


def maildir_folders(root: Path) -> dict[str, Path]:
    """Folder name ("INBOX", "Sent", "Intros.Reminders", ...) -> its directory, for a Maildir++ tree."""
    folders = {"INBOX": root}
    for p in sorted(root.iterdir()):
        if p.is_dir() and p.name.startswith(".") and (p / "cur").is_dir():
            folders[p.name[1:]] = p
    return folders


def message_files(root: Path) -> list[tuple[str, Path]]:
    """(folder, path) of every message file, in folder then name order."""
    out: list[tuple[str, Path]] = []
    for folder, base in maildir_folders(root).items():
        for sub in ("cur", "new"):
            d = base / sub
            if d.is_dir():
                out.extend((folder, p) for p in sorted(d.iterdir()) if p.is_file() and not p.name.startswith("."))
    return out


def _head(path: Path) -> bytes:
    with path.open("rb") as fh:
        data = fh.read(65536)
    return re.split(rb"\r?\n\r?\n", data, maxsplit=1)[0]


def own_messages(root: Path) -> list[OwnMessage]:
    """introd's own messages anywhere in the Maildir, found by their X-Introd-Action header."""
    found: list[OwnMessage] = []
    parser = BytesHeaderParser(policy=email.policy.default)
    for folder, path in message_files(root):
        head = _head(path)
        if not _ACTION.search(head):
            continue
        msg = parser.parsebytes(head + b"\n\n")
        found.append(OwnMessage(path, folder, " ".join(str(msg.get(ACTION_HEADER, "")).split()),
                                " ".join(str(msg.get("Subject", "")).split())))
    return found


def files_by_message_id(root: Path) -> dict[str, Path]:
    """Message-ID (without brackets) -> the first file that carries it."""
    index: dict[str, Path] = {}
    for _, path in message_files(root):
        m = _MESSAGE_ID.search(_head(path))
        if m:
            index.setdefault(m.group(1).decode("utf-8", "replace"), path)
    return index


def intro_rows(analyses: list[Any]) -> list[IntroRow]:
    """Table rows from the pass's IntroAnalysis list, oldest intro first."""
    rows = []
    for item in sorted(analyses, key=lambda a: (a.state.started, a.state.thread_id)):
        s = item.state
        rows.append(IntroRow(subject=s.subject, role=s.role.value, stage=s.stage.value,
                             due=tuple(d.kind.value for d in item.due), message_ids=tuple(s.message_ids)))
    return rows


def due_text(due: tuple[str, ...]) -> str:
    """"no_optin x2, nudge" from a tuple of due kinds; "-" when nothing is due."""
    counts = Counter(due)
    return ", ".join(k if n == 1 else f"{k} x{n}" for k, n in counts.items()) or "-"


def _clip(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def intro_table(rows: list[IntroRow]) -> list[str]:
    """The intros as aligned text lines (subject, the user's role, stage, due actions)."""
    lines = [f"{'INTRO':<{SUBJECT_WIDTH}}  {'YOUR ROLE':<11} {'STAGE':<12} DUE"]
    for r in rows:
        lines.append(f"{_clip(r.subject, SUBJECT_WIDTH):<{SUBJECT_WIDTH}}  {r.role:<11} {r.stage:<12} "
                     f"{due_text(r.due)}")
    return lines


def digest_text(config_path: Path, now: datetime) -> str:
    """The weekly digest of the demo account at ``now``, as plain text (what `introd digest` prints)."""
    from introd.config import load_config
    from introd.digest import render_text
    from introd.digest_run import build_for
    from introd.store import StateStore

    config = load_config(config_path)
    state = StateStore(config.state.path)
    try:
        return render_text(build_for(config, state, config.accounts[0], now))
    finally:
        state.close()


# -- the command ------------------------------------------------------------------------------------------


def run_demo(target: Path | None, out: TextIO, *, now: datetime = DEMO_NOW, as_json: bool = False) -> int:
    """Copy the example Maildir to ``target``, run one pass at ``now``, print intros and introd's own mail."""
    from introd.config import load_config
    from introd.runner import run_once
    from introd.store import StateStore

    target = prepare_target(target)
    maildir = target / MAILDIR
    copied = copy_tree(bundled_maildir(), maildir)
    finish_maildir(maildir)
    config = load_config(write_config(target, maildir))
    state = StateStore(config.state.path, lock=True)
    try:
        results = run_once(config, state, clock=lambda: now)
    finally:
        state.close()
    errors = [r.error for r in results if r.error is not None]
    if errors:
        for e in errors:
            out.write(f"introd demo: the pass failed: {e}\n")
        return max(e.exit_code for e in errors)
    analyses = [a for r in results if r.report is not None for a in r.report.intros]
    rows = intro_rows(analyses)
    own = own_messages(maildir)
    drafts = [m for m in own if m.folder.lower() == "drafts"]
    reminders = [m for m in own if m.folder.lower() != "drafts"]
    digest = target / "digest.txt"
    digest.write_text(digest_text(config.path, now), "utf-8")
    by_id = files_by_message_id(maildir)
    example = _example_file(rows, by_id)
    data: dict[str, Any] = {
        "directory": str(target), "maildir": str(maildir), "config": str(config.path), "now": now.isoformat(),
        "user": DEMO_USER, "messages": copied,
        "intros": [{"subject": r.subject, "role": r.role, "stage": r.stage, "due": list(r.due)} for r in rows],
        "drafts": [{"path": str(m.path), "kind": m.kind, "subject": m.subject, "action": m.action}
                   for m in drafts],
        "reminders": [{"path": str(m.path), "folder": m.folder, "subject": m.subject, "action": m.action}
                      for m in reminders],
        "digest": str(digest),
        "explain_example": str(example) if example else None,
    }
    if as_json:
        out.write(json.dumps(data, ensure_ascii=False) + "\n")
        return 0
    out.write(render(data, rows, config.path))
    return 0


def _example_file(rows: list[IntroRow], by_id: dict[str, Path]) -> Path | None:
    """A message worth `introd explain`: the newest received one of an intro with a decline due, else any due."""
    ranked = sorted((r for r in rows if r.due), key=lambda r: "decline" not in r.due)
    for r in ranked:
        for mid in reversed(r.message_ids):
            path = by_id.get(mid)
            if path is not None and path.parent.parent.name == MAILDIR:  # INBOX: mail the user received
                return path
    return None


def render(data: dict[str, Any], rows: list[IntroRow], config: Path) -> str:
    """The human-readable report."""
    target, maildir = data["directory"], data["maildir"]
    intro_ids = {mid for r in rows for mid in r.message_ids}
    when = datetime.fromisoformat(data["now"]).strftime("%Y-%m-%d %H:%M UTC")
    lines = [
        f"introd demo: the mailbox of {DEMO_NAME} <{DEMO_USER}>, one full pass at {when} (fixed clock)",
        f"  {data['messages']} messages copied to {maildir}",
        f"  {len(intro_ids)} of them belong to {len(rows)} intros; the rest is ordinary mail introd leaves alone",
        "",
        *intro_table(rows),
        "",
        f"Drafts written (in Drafts, never sent; paths under {target}):",
        *(_own_lines(data["drafts"], target) or ["  (none)"]),
        f"Reminders filed (paths under {target}):",
        *(_own_lines(data["reminders"], target) or ["  (none)"]),
        f"Digest: {data['digest']}",
        "",
        "Look around:",
        f"  neomutt -f {maildir}        # the mailbox as a mail client sees it (c, then =.Drafts)",
    ]
    if data["explain_example"]:
        lines.append(f"  introd explain -c {config} --now {data['now']} '{data['explain_example']}'")
    lines += [
        f"  introd status -c {config}",
        "  introd demo --now 2026-04-06T14:00:00Z DIR   # the same mailbox three weeks later",
        f"Everything is in {target}; delete it when done.",
    ]
    return "\n".join(lines) + "\n"


def _own_lines(items: list[dict[str, Any]], target: str) -> list[str]:
    """Two lines per message introd wrote: what it is, then where it is (relative to ``target``)."""
    lines = []
    for item in items:
        what = f"{item['kind']:<16} " if "kind" in item else ""
        lines.append(f"  {what}{_clip(item['subject'], 100 - len(what))}")
        lines.append(f"    {os.path.relpath(item['path'], target)}")
    return lines
