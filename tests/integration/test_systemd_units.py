"""The shipped systemd units: Type=notify, hardened, and accepted by `systemd-analyze verify`."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
UNITS = sorted((ROOT / "systemd").glob("*.service"))
HARDENING = ("NoNewPrivileges=yes", "ProtectSystem=strict", "ProtectHome=yes", "StateDirectory=introd",
             "PrivateTmp=yes", "RestrictAddressFamilies=", "LoadCredential=", "Restart=on-failure")


@pytest.mark.parametrize("unit", UNITS, ids=lambda p: p.name)
def test_units_are_notify_services_with_watchdog_reload_and_restart(unit: Path) -> None:
    """Each unit is Type=notify with a watchdog, SIGHUP reload, a stop timeout and Restart=on-failure."""
    text = unit.read_text()
    for directive in ("Type=notify", "WatchdogSec=", "ExecReload=/bin/kill -HUP $MAINPID", "TimeoutStopSec=",
                      "Restart=on-failure", "NoNewPrivileges=yes", "RestrictAddressFamilies="):
        assert directive in text, directive


def test_the_system_unit_is_hardened() -> None:
    """The system unit has every hardening option the README promises."""
    text = (ROOT / "systemd" / "introd.service").read_text()
    for directive in HARDENING:
        assert directive in text, directive


@pytest.mark.parametrize("unit", UNITS, ids=lambda p: p.name)
def test_systemd_analyze_verify_accepts_the_unit(unit: Path, tmp_path: Path) -> None:
    """`systemd-analyze verify` reports nothing (ExecStart pointed at an installed introd for the check)."""
    if shutil.which("systemd-analyze") is None:
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail("systemd-analyze is not installed (`make test` installs the systemd package)")
        pytest.skip("systemd-analyze is not installed")
    introd = shutil.which("introd") or str(Path(sys.executable).parent / "introd")
    if not Path(introd).exists():
        pytest.skip("no installed introd executable to point ExecStart at")
    text = unit.read_text()
    text = text.replace("/usr/local/bin/introd", introd).replace("%h/.local/bin/introd", introd)
    copy = tmp_path / "introd.service"
    copy.write_text(text)
    done = subprocess.run(["systemd-analyze", "verify", str(copy)], capture_output=True, text=True, timeout=60,
                          check=False, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "introd.service" not in done.stderr, done.stderr
