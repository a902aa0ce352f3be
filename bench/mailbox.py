"""introd at mailbox scale: one run that starts Dovecot, loads N-message mailboxes and measures every pass.

    python bench/mailbox.py [--sizes 1000,10000,100000] [--idle-samples 50] [--no-idle]   (`make bench`)

For each size N (INBOX messages; Sent holds the owner's replies, about 22% more) it measures, on a warm server:
the floor (stdlib imaplib fetching introd's index headers of every INBOX and Sent message), the first
`introd run --once` (wall, CPU, peak RSS, bodies fetched), a no-change pass both inside a running process and
as a whole `introd run --once`, a pass after 100 new messages, and new-mail-to-draft latency under `introd run`
beside the server's raw IDLE latency. Classification throughput comes from bench/classify.py. Prints a table
and writes bench/results/mailbox.json.
"""

from __future__ import annotations

import argparse
import imaplib
import json
import logging
import os
import platform
import re
import signal
import statistics
import subprocess
import sys
import time
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "bench")]  # introd itself: the .venv (editable install)

import classify as classify_bench  # noqa: E402  (bench/classify.py)
from mailgen import OWNER, OWNER_NAME, Generator, write_maildir  # noqa: E402
from tests.servers.dovecot import DOVECOT, MAIL_UID, DovecotServer, MailUser, imap_client  # noqa: E402

from introd.config import load_config  # noqa: E402
from introd.mailstore.base import INDEX_HEADERS  # noqa: E402
from introd.runner import open_store, system_clock  # noqa: E402
from introd.store import StateStore  # noqa: E402
from introd.sync import run_pass  # noqa: E402

INTROD = ROOT / ".venv" / "bin" / "introd"
PASSWORD_ENV = "INTROD_BENCH_PASSWORD"
FLOOR_BATCH = 2000
FLOOR_ITEMS = "(UID FLAGS INTERNALDATE BODY.PEEK[HEADER.FIELDS ({})])".format(
    " ".join(h.upper() for h in INDEX_HEADERS))
REPORT = re.compile(r"(\d+) new candidates(?: \((\d+) more[^)]*\))?, (\d+) bodies fetched, (\d+) intros, "
                    r"(\d+) due actions")
WRITTEN = re.compile(r"(\d+) drafts written, (\d+) reminders filed")

# metric key -> (label, unit, target description, check(value, size, row) -> bool | None)
TARGETS: dict[str, tuple[str, str, str]] = {
    "load_s": ("load mailbox (Maildir + force-resync)", "s", ""),
    "messages": ("messages (INBOX + Sent)", "", ""),
    "floor_s": ("floor: imaplib header fetch, warm", "s", ""),
    "first_wall_s": ("first run --once: wall", "s", "<= 2.5x floor"),
    "first_ratio": ("first run --once / floor", "x", "<= 2.5"),
    "first_cpu_s": ("first run --once: CPU", "s", ""),
    "first_rss_mb": ("first run --once: peak RSS", "MB", "< 150"),
    "bodies": ("bodies fetched", "", ""),
    "dormant": ("candidates left as history (> history_days)", "", ""),
    "bodies_pct": ("bodies fetched, % of messages", "%", "< 10"),
    "drafts_first": ("drafts / reminders written by the first pass", "", ""),
    "nochange_daemon_ms": ("no-change pass in process (stand-in)", "ms", "< 50"),
    "nochange_once_s": ("no-change run --once process", "s", "< 1"),
    "new100_cold_ms": ("pass after 100 new, 1st in process", "ms", ""),
    "new100_daemon_ms": ("pass after 100 new, in process", "ms", "<= 1.5x 1k"),
    "new100_cpu_ms": ("  of which introd's own CPU", "ms", "<= 1.5x 1k"),
    "new100_server_ms": ("  of which waiting for the server", "ms", ""),
    "new100_once_s": ("run --once after 100 new", "s", ""),
    "idle_raw_med_ms": ("raw IDLE latency, median", "ms", ""),
    "idle_raw_p95_ms": ("raw IDLE latency, p95", "ms", ""),
    "draft_med_ms": ("new-mail-to-draft, median", "ms", ""),
    "draft_p95_ms": ("new-mail-to-draft, p95", "ms", "<= raw p95 + 150"),
}


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


def log(text: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {text}", file=sys.stderr, flush=True)


# -- setup ---------------------------------------------------------------------------------------------------

def load(server: DovecotServer, user: MailUser, n: int, gen: Generator) -> tuple[int, float, int]:
    """Write the mailbox as Maildir files and let Dovecot index it; (messages, seconds, intro messages)."""
    start = time.perf_counter()
    mails = gen.mailbox(n)
    owner = MAIL_UID if os.geteuid() == 0 else os.geteuid()
    group = MAIL_UID if os.geteuid() == 0 else os.getegid()
    write_maildir(mails, user.maildir, owner, group)
    server.doveadm("force-resync", "-u", user.username, "*")
    return len(mails), time.perf_counter() - start, sum(m.intro for m in mails)


def floor(server: DovecotServer, user: MailUser) -> float:
    """stdlib imaplib: connect, log in, fetch the index headers of every INBOX and Sent message (batches)."""
    start = time.perf_counter()
    imap = imaplib.IMAP4(server.host, server.port)
    imap.login(user.username, user.password)
    for folder in ("INBOX", "Sent"):
        typ, data = imap.select(folder, readonly=True)
        exists = int(data[0] or 0)
        for lo in range(1, exists + 1, FLOOR_BATCH):
            hi = min(exists, lo + FLOOR_BATCH - 1)
            typ, _ = imap.fetch(f"{lo}:{hi}", FLOOR_ITEMS)
            assert typ == "OK"
    imap.logout()
    return time.perf_counter() - start


def write_config(directory: Path, server: DovecotServer, user: MailUser) -> Path:
    path = directory / "config.toml"
    path.write_text(
        f'[state]\npath = "{directory / "state.db"}"\n\n'
        f'[[accounts]]\nname = "bench"\naddresses = ["{OWNER}"]\ndisplay_name = "{OWNER_NAME}"\n'
        f'host = "{server.host}"\nport = {server.port}\nsecurity = "plain"\nusername = "{user.username}"\n'
        f'password_env = "{PASSWORD_ENV}"\n\n[timing]\ntimezone = "UTC"\n')
    return path


def _vm_hwm_kb(pid: int) -> int:
    """Peak resident set of a running process (kB), 0 once it is gone."""
    try:
        with open(f"/proc/{pid}/status") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def introd_once(config: Path, env: dict[str, str], log_path: Path) -> dict[str, Any]:
    """`introd run --once` as a whole process: wall, CPU and peak RSS of that process, its report line."""
    start = time.perf_counter()
    with open(log_path, "ab") as out:
        proc = subprocess.Popen([str(INTROD), "--config", str(config), "run", "--once"], stdout=out,
                                stderr=subprocess.STDOUT, env=env)
        hwm = 0
        while True:
            # Peak RSS from VmHWM: wait4's ru_maxrss also counts the bench's own pages the child held between
            # fork and exec (a 1.3 GB "peak" after generating 100k messages).
            hwm = max(hwm, _vm_hwm_kb(proc.pid))
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            time.sleep(0.02)
    wall = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    text = log_path.read_text(errors="replace")
    if proc.returncode != 0:
        raise RuntimeError(f"introd run --once exited {proc.returncode}: {text[-2000:]}")
    found = REPORT.findall(text)
    written = WRITTEN.findall(text)
    candidates, dormant, bodies, intros, due = (int(x or 0) for x in found[-1]) if found else (0, 0, 0, 0, 0)
    drafts, reminders = (int(x) for x in written[-1]) if written else (0, 0)
    return {"wall_s": wall, "cpu_s": usage.ru_utime + usage.ru_stime, "rss_mb": hwm / 1024,
            "candidates": candidates, "dormant": dormant, "bodies": bodies, "intros": intros, "due": due,
            "drafts": drafts,
            "reminders": reminders}


def append_new(server: DovecotServer, user: MailUser, gen: Generator, count: int) -> None:
    client = imap_client(server, user)
    try:
        for mail in gen.new_mail(count):
            client.append("INBOX", mail.raw, flags=(), msg_time=mail.date)
    finally:
        client.logout()


class InProcess:
    """A pass on a reused connection and an open state store, exactly as AccountRunner.pass_ runs one."""

    def __init__(self, config_path: Path) -> None:
        self.config = load_config(config_path)
        self.account = self.config.accounts[0]
        self.state = StateStore(self.config.state.path)
        self.store = open_store(self.account)
        self.cpu = 0.0

    def run(self) -> tuple[float, Any]:
        """One pass: (wall seconds, report); ``self.cpu`` is this process's CPU seconds in it."""
        start, cpu = time.perf_counter(), time.process_time()
        refresh = getattr(self.store, "refresh", None)
        if refresh is not None:
            refresh()
        report = run_pass(self.store, self.state, self.config, self.account, system_clock())
        self.state.set_account_status(self.account.name, connected=True, synced=True)
        self.cpu = time.process_time() - cpu
        return time.perf_counter() - start, report

    def close(self) -> None:
        self.store.close()
        self.state.close()


# -- IDLE ----------------------------------------------------------------------------------------------------

def intro_message(n: int) -> tuple[bytes, str]:
    """An out-of-the-blue introduction of the owner (no opt-in asked): a draft is due at once."""
    mid = f"bench-intro-{n}-{os.urandom(6).hex()}@whitfield-pr.example"
    date = format_datetime(datetime.now(timezone.utc) - timedelta(minutes=1))
    raw = (f"From: Dana Whitfield <dana@whitfield-pr.example>\r\nTo: {OWNER_NAME} <{OWNER}>,\r\n"
           f" Marcus Bell{n} <marcus{n}@bellventures{n}.example>\r\nSubject: Priya <> Marcus{n}\r\n"
           f"Date: {date}\r\nMessage-ID: <{mid}>\r\nMIME-Version: 1.0\r\n"
           "Content-Type: text/plain; charset=\"us-ascii\"\r\n\r\n"
           f"Priya, meet Marcus{n}! Marcus{n}, meet Priya!\r\n\r\n"
           f"Marcus{n} is starting something new and I immediately thought of you, Priya. Marcus{n}, Priya is "
           "the designer I was raving about at dinner.\r\n\r\nI'll let you two take it from here!\r\n\r\nDana\r\n")
    return raw.encode(), mid


def raw_idle(server: DovecotServer, user: MailUser, samples: int) -> list[float]:
    """Seconds from the start of another connection's APPEND to the EXISTS seen by an IDLEing client."""
    watcher = imap_client(server, user)
    appender = imap_client(server, user)
    out: list[float] = []
    try:
        watcher.select_folder("INBOX", readonly=True)
        for n in range(samples):
            watcher.idle()
            raw, _ = intro_message(100_000 + n)
            start = time.perf_counter()
            appender.append("INBOX", raw, flags=("\\Seen",))
            while True:
                responses = watcher.idle_check(timeout=5)
                if not responses:
                    raise RuntimeError("no IDLE notification within 5 s")
                if any(len(r) > 1 and r[1] == b"EXISTS" for r in responses):
                    break
            out.append(time.perf_counter() - start)
            watcher.idle_done()
    finally:
        watcher.logout()
        appender.logout()
    return out


def drafts_dir_files(maildir: Path) -> set[Path]:
    files: set[Path] = set()
    for sub in ("cur", "new"):
        d = maildir / ".Drafts" / sub
        if d.exists():
            files.update(d / name for name in os.listdir(d))
    return files


def quiet(log_path: Path, still: float = 1.0, limit: float = 8.0) -> None:
    """Wait until the daemon's log has not grown for ``still`` seconds (its passes are over)."""
    deadline = time.monotonic() + limit
    size, since = -1, time.monotonic()
    while time.monotonic() < deadline:
        now_size = log_path.stat().st_size
        if now_size != size:
            size, since = now_size, time.monotonic()
        elif time.monotonic() - since >= still:
            return
        time.sleep(0.05)


def daemon_latency(server: DovecotServer, user: MailUser, config: Path, env: dict[str, str], samples: int,
                   log_path: Path) -> list[float]:
    """Seconds from the start of an intro's APPEND to introd's draft answering it landing in Drafts."""
    out_log = open(log_path, "wb")  # noqa: SIM115 - closed below
    proc = subprocess.Popen([str(INTROD), "--config", str(config), "run"], stdout=out_log,
                            stderr=subprocess.STDOUT, env=env)
    try:
        deadline = time.monotonic() + 120
        while not re.search(r"watching INBOX", log_path.read_text(errors="replace")) or \
                not re.search(r"drafts written|quiet: nothing changed", log_path.read_text(errors="replace")):
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"introd run did not start: {log_path.read_text()[-2000:]}")
            time.sleep(0.05)
        quiet(log_path)  # the watchers are in IDLE and the startup pass is over
        appender = imap_client(server, user)
        out: list[float] = []
        try:
            for n in range(samples):
                raw, mid = intro_message(n)
                needle = f"In-Reply-To: <{mid}>".encode()
                before = drafts_dir_files(user.maildir)
                start = time.perf_counter()
                appender.append("INBOX", raw, flags=())
                seen: set[Path] = set(before)
                found = False
                while not found:
                    if time.perf_counter() - start > 10:
                        raise RuntimeError(f"no draft for {mid} within 10 s: {log_path.read_text()[-2000:]}")
                    for path in drafts_dir_files(user.maildir) - seen:
                        seen.add(path)
                        try:
                            if needle in path.read_bytes():
                                found = True
                        except FileNotFoundError:  # moved new/ -> cur/ meanwhile
                            pass
                    if not found:
                        time.sleep(0.003)
                out.append(time.perf_counter() - start)
                quiet(log_path)  # the pass ends and the Drafts watcher's own wake-up passes by
        finally:
            appender.logout()
        return out
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        out_log.close()


# -- one size ------------------------------------------------------------------------------------------------

def bench_size(server: DovecotServer, n: int, work: Path, idle_samples: int) -> dict[str, Any]:
    row: dict[str, Any] = {"size": n}
    user = server.new_user()
    gen = Generator(seed=n)
    log(f"{n:,}: generating and loading")
    row["messages"], row["load_s"], row["intro_messages"] = load(server, user, n, gen)
    log(f"{n:,}: {row['messages']:,} messages loaded in {row['load_s']:.1f} s; measuring the floor")
    floor(server, user)  # warm the server's cache for these fields
    row["floor_s"] = min(floor(server, user) for _ in range(2))
    directory = work / f"n{n}"
    directory.mkdir(parents=True, exist_ok=True)
    config = write_config(directory, server, user)
    env = {**os.environ, PASSWORD_ENV: user.password}
    os.environ[PASSWORD_ENV] = user.password

    log(f"{n:,}: first introd run --once (floor {row['floor_s']:.2f} s)")
    first = introd_once(config, env, directory / "first.log")
    row.update(first_wall_s=first["wall_s"], first_cpu_s=first["cpu_s"], first_rss_mb=first["rss_mb"],
               bodies=first["bodies"], candidates=first["candidates"], dormant=first["dormant"],
               intros=first["intros"],
               drafts_first=f"{first['drafts']} / {first['reminders']}")
    row["first_ratio"] = first["wall_s"] / row["floor_s"]
    row["bodies_pct"] = 100 * first["bodies"] / row["messages"]
    # Drafts held back by max_per_pass (the generated year of intros leaves a backlog) come out in the next
    # passes: settle them, 1,000 a pass, before timing no-change passes.
    settle = directory / "settle.toml"
    settle.write_text(config.read_text() + "\n[drafts]\nmax_per_pass = 1000\n")
    for _ in range(10):
        again = introd_once(settle, env, directory / "settle.log")
        if again["drafts"] == 0 and again["reminders"] == 0:
            break
    log(f"{n:,}: no-change passes")
    introd_once(config, env, directory / "nochange.log")  # back to the normal settings: one full pass
    once = [introd_once(config, env, directory / "nochange.log") for _ in range(3)]
    row["nochange_once_s"] = statistics.median(o["wall_s"] for o in once)
    row["nochange_once_rss_mb"] = max(o["rss_mb"] for o in once)
    inproc = InProcess(config)
    try:
        inproc.run()  # the first pass on a new connection lists folders, like the daemon's first pass
        times = [inproc.run()[0] for _ in range(7)]
        row["nochange_daemon_ms"] = 1000 * statistics.median(times)
        log(f"{n:,}: 100 new messages, twice")
        # The first pass after new mail in a process decodes every candidate record; a daemon does that once
        # after it starts, so the second batch is the steady state.
        append_new(server, user, gen, 100)
        row["new100_cold_ms"] = 1000 * inproc.run()[0]
        append_new(server, user, gen, 100)
        took, report = inproc.run()
        row["new100_daemon_ms"] = 1000 * took
        row["new100_cpu_ms"] = 1000 * inproc.cpu
        row["new100_server_ms"] = 1000 * (took - inproc.cpu)
        row["new100_new"] = report.new_messages
        row["new100_bodies"] = report.bodies_fetched
    finally:
        inproc.close()
    append_new(server, user, gen, 100)
    row["new100_once_s"] = introd_once(config, env, directory / "new100.log")["wall_s"]

    if idle_samples:
        log(f"{n:,}: raw IDLE latency ({idle_samples} samples)")
        raw = raw_idle(server, user, idle_samples)
        row["idle_raw_med_ms"], row["idle_raw_p95_ms"] = 1000 * statistics.median(raw), 1000 * p95(raw)
        log(f"{n:,}: new-mail-to-draft latency under introd run ({idle_samples} samples)")
        lat = daemon_latency(server, user, config, env, idle_samples, directory / "daemon.log")
        row["draft_med_ms"], row["draft_p95_ms"] = 1000 * statistics.median(lat), 1000 * p95(lat)
    return row


# -- report --------------------------------------------------------------------------------------------------

def verdict(key: str, row: dict[str, Any], rows: list[dict[str, Any]]) -> str:
    value = row.get(key)
    if value is None or isinstance(value, str):
        return ""
    ok: bool | None = None
    if key in {"first_ratio", "first_wall_s"}:
        ok = row["first_ratio"] <= 2.5
    elif key == "first_rss_mb":
        ok = value < 150
    elif key == "bodies_pct":
        ok = value < 10
    elif key == "nochange_daemon_ms":
        ok = value < 50
    elif key == "nochange_once_s":
        ok = value < 1
    elif key in ("new100_daemon_ms", "new100_cpu_ms"):
        small = min(rows, key=lambda r: r["size"])
        if small is row or key not in small:
            return ""
        ok = value <= 1.5 * small[key]
    elif key == "draft_p95_ms" and "idle_raw_p95_ms" in row:
        ok = value <= row["idle_raw_p95_ms"] + 150
    return "" if ok is None else (" ok" if ok else " MISS")


def fmt(value: Any, unit: str) -> str:
    if value is None:
        return "n/a"
    if isinstance(value, str):
        return value
    if unit in ("ms", "MB", "") or (isinstance(value, float) and value >= 100):
        return f"{value:,.0f}"
    if unit == "%":
        return f"{value:.1f}"
    return f"{value:.2f}"


def table(rows: list[dict[str, Any]], classify: dict[str, Any], machine: str) -> str:
    width = 46
    lines = [f"introd at mailbox scale - {machine}", ""]
    head = f"{'metric':<{width}}" + "".join(f"{r['size']:>16,}" for r in rows) + "   target"
    lines += [head, "-" * len(head)]
    for key, (label, unit, target) in TARGETS.items():
        cells = ""
        for r in rows:
            cell = fmt(r.get(key), unit) + verdict(key, r, rows)
            cells += f"{cell:>16}"
        lines.append(f"{label + (f' ({unit})' if unit else ''):<{width}}{cells}   {target}")
    ok = classify["classify_per_s"] > 5000
    lines += ["", f"classification of the pure core: {classify['classify_per_s']:,.0f} messages/s "
                  f"({'ok' if ok else 'MISS'}, target > 5,000); prefilter {classify['prefilter_per_s']:,.0f}/s"]
    return "\n".join(lines)


def machine() -> str:
    cpu = "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    dovecot = subprocess.run([DOVECOT, "--version"], capture_output=True, text=True, check=False).stdout.strip()
    return (f"{os.cpu_count()} cores {cpu}, Python {platform.python_version()}, Dovecot {dovecot}, "
            f"{platform.system()} {platform.release()}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="1000,10000,100000", help="INBOX sizes, comma-separated")
    parser.add_argument("--idle-samples", type=int, default=50, help="messages per IDLE latency measurement")
    parser.add_argument("--no-idle", action="store_true", help="skip the IDLE latency measurements")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",") if s]
    args.out.mkdir(parents=True, exist_ok=True)
    logging.getLogger("mailparser").setLevel(logging.ERROR)  # "content 'calendar' not handled"
    log("classification throughput")
    classify = classify_bench.measure(10_000)
    server = DovecotServer()
    server.start()
    rows: list[dict[str, Any]] = []
    started = time.perf_counter()
    try:
        work = server.dir / "bench"
        for n in sizes:
            rows.append(bench_size(server, n, work, 0 if args.no_idle else args.idle_samples))
    finally:
        server.cleanup()
    info = machine()
    text = table(rows, classify, info)
    print(text)
    result = {"machine": info, "when": datetime.now(timezone.utc).isoformat(timespec="seconds"),
              "took_s": time.perf_counter() - started, "sizes": rows, "classify": classify}
    (args.out / "mailbox.json").write_text(json.dumps(result, indent=2) + "\n")
    (args.out / "mailbox.txt").write_text(text + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
