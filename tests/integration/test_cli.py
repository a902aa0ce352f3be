"""The `introd` command line as a user meets it: help, exit codes, one-line errors, nothing written."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def introd(*args: str, env: dict[str, str] | None = None, stdin: str = "") -> subprocess.CompletedProcess[str]:
    full_env = {**os.environ, "PYTHONPATH": str(ROOT / "daemon"), **(env or {})}
    return subprocess.run([sys.executable, "-m", "introd", *args], capture_output=True, text=True,
                          env=full_env, input=stdin, timeout=60, check=False)


def write_config(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(body)
    return path


GOOD = """
[state]
path = "{state}"
[[accounts]]
name = "work"
host = "imap.example.com"
addresses = ["alice@example.com"]
password_env = "INTROD_TEST_NOPE"
"""


@pytest.mark.parametrize("sub", ["run", "check-config", "set-password", "status", "explain"])
def test_every_subcommand_has_help(sub: str) -> None:
    """`introd SUB --help` exits 0 and describes the subcommand and its options."""
    done = introd(sub, "--help")
    assert done.returncode == 0
    assert f"usage: introd {sub}" in done.stdout
    assert "--config" in done.stdout


def test_top_level_help_lists_exit_codes() -> None:
    """`introd --help` lists the subcommands and the documented exit codes."""
    done = introd("--help")
    assert done.returncode == 0
    for word in ("run", "check-config", "set-password", "status", "explain", "exit status", "TLS"):
        assert word in done.stdout


def test_example_config_is_valid() -> None:
    """config.example.toml, shipped with every option, passes check-config."""
    done = introd("check-config", "--config", str(ROOT / "config.example.toml"))
    assert done.returncode == 0, done.stderr
    assert "OK" in done.stdout


@pytest.mark.parametrize(
    ("body", "needle"),
    [
        ("[[accounts]\nname = 'x'", "TOML syntax error"),
        ("[[accounts]]\nname = 'x'\nhost = 'h'\naddresses = ['a@example.com']\nport = 'x'\n",
         "accounts[0].port: expected an integer"),
        ("[[accounts]]\nname = 'x'\nhost = 'h'\n", "accounts[0].addresses: missing"),
        ("[[accounts]]\nname = 'x'\nhost = 'h'\naddresses = ['a@example.com']\nbogus = 1\n",
         "accounts[0].bogus: unknown key"),
        ("[[accounts]]\nname = 'x'\nhost = 'h'\naddresses = ['a@example.com']\nport = 70000\n",
         "accounts[0].port: expected an integer from 1 to 65535"),
    ],
)
def test_bad_config_is_one_line_exit_2_and_writes_nothing(tmp_path: Path, body: str, needle: str) -> None:
    """Every kind of bad config prints one line naming file and key, exits 2, and creates no state."""
    path = write_config(tmp_path, f'[state]\npath = "{tmp_path / "state.db"}"\n' + body)
    for sub in ("check-config", "run"):
        args = [sub, "--config", str(path)] + (["--once"] if sub == "run" else [])
        done = introd(*args, env={"XDG_STATE_HOME": str(tmp_path / "xdg")})
        assert done.returncode == 2
        lines = done.stderr.strip().splitlines()
        assert len(lines) == 1, done.stderr
        assert str(path) in lines[0] and needle in lines[0]
        assert "Traceback" not in done.stderr
    assert not (tmp_path / "state.db").exists()
    assert not (tmp_path / "xdg").exists()


def test_missing_and_unreadable_config(tmp_path: Path) -> None:
    """A missing file and a non-UTF-8 file each give one line and exit 2."""
    done = introd("check-config", "--config", str(tmp_path / "nope.toml"))
    assert done.returncode == 2
    assert "nope.toml: file not found" in done.stderr
    bad = tmp_path / "latin1.toml"
    bad.write_bytes(b"name = '\xe9'\n")
    done = introd("check-config", "--config", str(bad))
    assert done.returncode == 2
    assert "not valid UTF-8" in done.stderr


def test_missing_password_is_a_clear_error(tmp_path: Path) -> None:
    """run --once with no password available exits 2 naming the variable, and no secret appears."""
    path = write_config(tmp_path, GOOD.format(state=tmp_path / "s.db"))
    done = introd("run", "--once", "--config", str(path), env={"INTROD_TEST_NOPE": ""})
    assert done.returncode == 2
    assert "INTROD_TEST_NOPE is not set" in done.stderr


def test_status_before_first_run(tmp_path: Path) -> None:
    """status without a state file says so instead of failing, in text and JSON."""
    path = write_config(tmp_path, GOOD.format(state=tmp_path / "s.db"))
    done = introd("status", "--config", str(path))
    assert done.returncode == 0
    assert "run `introd run --once` first" in done.stdout
    done = introd("status", "--json", "--config", str(path))
    assert done.returncode == 0
    assert '"accounts": []' in done.stdout


def test_set_password_unknown_account(tmp_path: Path) -> None:
    """set-password for an account that is not configured names the ones that are."""
    path = write_config(tmp_path, GOOD.format(state=tmp_path / "s.db"))
    done = introd("set-password", "nope", "--config", str(path), stdin="x\n")
    assert done.returncode == 2
    assert "no account named 'nope' (have: work)" in done.stderr
