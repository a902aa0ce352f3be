"""`introd demo`: the bundled example mailbox, one pass with a fixed clock, no network, bundled files untouched."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python 3.10 only
    import tomli as tomllib

import pytest

ROOT = Path(__file__).resolve().parents[2]
BUNDLED = ROOT / "daemon" / "introd" / "demo" / "maildir"
SMOKE_SECONDS = 15.0  # a smoke bound only; the benchmark harness owns speed

# Any attempt to reach the network fails the subprocess (sitecustomize runs before introd is imported).
NO_NETWORK = '''
import socket

def _refuse(*args, **kwargs):
    raise OSError("test_demo: the demo must not use the network")

socket.socket.connect = _refuse
socket.socket.connect_ex = _refuse
socket.create_connection = _refuse
socket.getaddrinfo = _refuse
socket.gethostbyname = _refuse
socket.gethostbyaddr = _refuse
'''

# subject fragment -> (the user's role, stage, a due kind that must be among the intro's due actions)
EXPECTED: dict[str, tuple[str, str, str | None]] = {
    "Alice Ward <> Mary Smith": ("introduced", "introduced", "channel_switch"),  # seed 0: Mary's curt reply
    "Alice, meet Marcus": ("introduced", "introduced", "no_optin"),  # seed 1: introduced without being asked
    "Tom <> Sasha": ("introducer", "introduced", "no_optin"),  # seed 1: Alice did not ask first
    "Becky Hall?": ("introducer", "opted_in", "make_intro"),  # seed 2: both asked first, both said yes
    "Intro to Lena Ortiz?": ("introducer", "declined", None),  # an opt-in ask answered "I'll pass"
    "Mr. Jones at BigChemicalCompany": ("asked", "requested", "reply_owed"),  # seed 3: Tim's good request
    "Pat Quinn": ("asked", "requested", "ask_first"),  # seed 3: George's note, forwarded without asking Pat
    "A quick favor": ("asked", "requested", "decline"),  # seed 3: the blanket self-promotional request
    "Dave Cole, meet Alice Ward": ("introduced", "dead", "move_on"),  # seed 4: salesy overture, two nudges
    "Owen (Price Logistics) <> Rosa": ("introducer", "stalled", "stalled"),
    "Ian (Walsh Foods) <> Leah": ("introducer", "meeting_set", "followup"),  # "how did it go?"
    "Alice <> Grace": ("introduced", "meeting_set", "thank_introducer"),
    "Grace Kim at Lumen Labs": ("requester", "requested", "nudge"),
}


def tree_digest(root: Path) -> dict[str, str]:
    """Relative path -> sha256 of every file under ``root``."""
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


def run_demo(tmp_path: Path, *args: str) -> tuple[subprocess.CompletedProcess[str], float]:
    """Run `introd demo ARGS` in a subprocess whose sockets all refuse; return the result and wall time."""
    guard = tmp_path / "guard"
    guard.mkdir(exist_ok=True)
    (guard / "sitecustomize.py").write_text(NO_NETWORK)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(guard), str(ROOT / "daemon")])}
    start = time.monotonic()
    proc = subprocess.run([sys.executable, "-m", "introd", "demo", *args], capture_output=True, text=True,
                          env=env, timeout=120, check=False)
    return proc, time.monotonic() - start


@pytest.fixture(scope="module")
def demo_json(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any], dict[str, str]]:
    """One `introd demo DIR --json` run: the directory, its JSON report, and the bundled files' hashes before."""
    tmp = tmp_path_factory.mktemp("demo-json")
    before = tree_digest(BUNDLED)
    proc, _ = run_demo(tmp, str(tmp / "out"), "--json")
    assert proc.returncode == 0, proc.stderr
    return tmp / "out", json.loads(proc.stdout), before


def test_demo_prints_the_table_quickly(tmp_path: Path) -> None:
    """`introd demo DIR` exits 0 well within the smoke bound and prints intros, drafts, reminders and digest."""
    proc, elapsed = run_demo(tmp_path, str(tmp_path / "demo"))
    assert proc.returncode == 0, proc.stderr
    assert elapsed < SMOKE_SECONDS, f"introd demo took {elapsed:.1f}s"
    out = proc.stdout
    for text in ("INTRO", "YOUR ROLE", "STAGE", "DUE", "A quick favor", "Drafts written", "Reminders filed",
                 f"Digest: {tmp_path / 'demo' / 'digest.txt'}", f"neomutt -f {tmp_path / 'demo' / 'maildir'}",
                 "introd explain -c"):
        assert text in out
    assert (tmp_path / "demo" / "digest.txt").read_text().count("\n") > len(EXPECTED)


def test_demo_stages_and_roles_follow_the_model(demo_json: tuple[Path, dict[str, Any], dict[str, str]]) -> None:
    """Every seed situation lands in the role, stage and due action docs/intro-model.md gives it at the demo clock."""
    _, data, _ = demo_json
    intros = data["intros"]
    assert len(intros) == len(EXPECTED), [i["subject"] for i in intros]  # no ordinary mail became an intro
    for fragment, (role, stage, due) in EXPECTED.items():
        hits = [i for i in intros if fragment in i["subject"]]
        assert len(hits) == 1, (fragment, [i["subject"] for i in intros])
        got = hits[0]
        assert (got["role"], got["stage"]) == (role, stage), (fragment, got)
        if due is not None:
            assert due in got["due"], (fragment, got)


def test_demo_reports_introd_own_messages(demo_json: tuple[Path, dict[str, Any], dict[str, str]]) -> None:
    """Every draft and reminder the demo lists exists and carries introd's X-Introd-Action header."""
    target, data, _ = demo_json
    assert Path(data["digest"]).is_file()
    for item in data["drafts"] + data["reminders"]:
        path = Path(item["path"])
        assert path.is_file() and target in path.parents
        assert b"\nX-Introd-Action:" in b"\n" + path.read_bytes().split(b"\n\n", 1)[0]
    assert all("/.Drafts/" in d["path"] for d in data["drafts"])


def test_demo_uses_no_network(demo_json: tuple[Path, dict[str, Any], dict[str, str]]) -> None:
    """The demo's config has only a local Maildir account (and the run above had every socket refused)."""
    target, data, _ = demo_json
    config = tomllib.loads(Path(data["config"]).read_text())
    assert [a["backend"] for a in config["accounts"]] == ["maildir"]
    assert not any("host" in a or "port" in a for a in config["accounts"])
    assert Path(data["maildir"]) == target / "maildir"


def test_bundled_files_are_untouched(demo_json: tuple[Path, dict[str, Any], dict[str, str]]) -> None:
    """The bundled Maildir is unchanged by a run and every bundled message was copied byte for byte."""
    target, _, before = demo_json
    assert before and tree_digest(BUNDLED) == before
    copied = tree_digest(target / "maildir")
    for rel, digest in before.items():
        assert copied.get(rel) == digest, rel


def test_demo_refuses_a_non_empty_directory(tmp_path: Path) -> None:
    """A DIR that already holds files is refused with exit status 2 and nothing is copied into it."""
    target = tmp_path / "busy"
    target.mkdir()
    (target / "keep.txt").write_text("mine")
    proc, _ = run_demo(tmp_path, str(target))
    assert proc.returncode == 2
    assert "not empty" in proc.stderr
    assert sorted(p.name for p in target.iterdir()) == ["keep.txt"]


def test_demo_help_explains_the_command(tmp_path: Path) -> None:
    """`introd demo --help` exits 0 and names DIR, --now and --json."""
    proc, _ = run_demo(tmp_path, "--help")
    assert proc.returncode == 0
    for text in ("DIR", "--now", "--json", "bundled example Maildir"):
        assert text in proc.stdout
