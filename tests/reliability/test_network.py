"""Network faults through a TCP proxy between `introd run --once` and Dovecot: cut and stalled connections."""

from __future__ import annotations

import subprocess
import threading
import time
from pathlib import Path

import pytest

from tests.reliability import harness as h
from tests.servers.dovecot import DovecotServer
from tests.servers.proxy import TcpProxy

pytestmark = [pytest.mark.dovecot, pytest.mark.slow]

CUTS = 12
SEED = 8


def test_connection_cut_at_random_points_then_recovers_exactly(dovecot: DovecotServer, tmp_path: Path) -> None:
    """A connection reset at any point of a pass (FETCH, APPEND, ...) costs only a retry: the result is exact."""
    mailbox = h.small_mailbox()
    ref_user = dovecot.new_user()
    h.load(dovecot, ref_user, mailbox)
    (tmp_path / "ref").mkdir()
    ref_config = h.write_config(tmp_path / "ref", dovecot.host, dovecot.port, ref_user)
    window = h.pass_seconds(ref_config, ref_user, tmp_path / "ref" / "ref.log")
    reference = h.own_messages(dovecot, ref_user)
    rng = h.seeded(SEED)
    failed_passes = 0
    for i in range(CUTS):
        user = dovecot.new_user()
        h.load(dovecot, user, mailbox)
        proxy = TcpProxy(dovecot.host, dovecot.port)
        run_dir = tmp_path / f"cut{i:02d}"
        run_dir.mkdir()
        config = h.write_config(run_dir, proxy.host, proxy.port, user, timeout=5)
        delay = rng.uniform(0.0, window)
        log = run_dir / "cut.log"
        with open(log, "wb") as out:
            proc = subprocess.Popen(h.introd_argv(config, "run", "--once", "-v"), stdout=out,
                                    stderr=subprocess.STDOUT, env=h.introd_env(user), stdin=subprocess.DEVNULL)
            while proc.poll() is None and "logged in" not in log.read_text(errors="replace"):
                time.sleep(0.002)
            time.sleep(delay)
            proxy.cut()
            code = proc.wait(60)
        text = log.read_text(errors="replace")
        assert code in (0, 5), text[-2000:]  # 5: a transient (network) error, reported in one ERROR line
        assert code == 0 or "ERROR" in text
        failed_passes += code != 0
        print(f"network cut {i:02d}: reset {delay:.4f} s after login; pass exit {code}")
        done = h.run_once(config, user)
        assert done.returncode == 0, done.stderr[-2000:]
        assert h.own_messages(dovecot, user) == reference
        proxy.close()
    h.record_count("network_resets", CUTS)
    h.record_count("network_resets_that_broke_a_pass", failed_passes)
    assert failed_passes >= 1


def test_stalled_connection_times_out_and_the_next_pass_completes(dovecot: DovecotServer, tmp_path: Path) -> None:
    """A connection that silently stops forwarding ends the pass with a timeout error within bounds; no harm done."""
    user = dovecot.new_user()
    h.load(dovecot, user, h.small_mailbox())
    proxy = TcpProxy(dovecot.host, dovecot.port)
    config = h.write_config(tmp_path, proxy.host, proxy.port, user, timeout=2)
    log = tmp_path / "stall.log"
    frozen: list[int] = []
    with open(log, "wb") as out:
        proc = subprocess.Popen(h.introd_argv(config, "run", "--once", "-v"), stdout=out, stderr=subprocess.STDOUT,
                                env=h.introd_env(user), stdin=subprocess.DEVNULL)
        while proc.poll() is None and "logged in" not in log.read_text(errors="replace"):
            time.sleep(0.002)
        freezer = threading.Thread(target=lambda: frozen.append(proxy.freeze()))
        freezer.start()
        freezer.join()
        start = time.monotonic()
        code = proc.wait(30)
        took = time.monotonic() - start
    text = log.read_text(errors="replace")
    assert frozen and frozen[0] >= 1
    assert code == 5 and "timed out" in text, text[-2000:]
    assert took < 10  # (-v logs the traceback at DEBUG on purpose)
    done = h.run_once(config, user)  # new connections through the proxy are forwarded again
    assert done.returncode == 0, done.stderr[-2000:]
    assert any(folder == "Drafts" for folder, _ in h.own_messages(dovecot, user))
    proxy.close()
    h.record_count("network_stalls", 1)
