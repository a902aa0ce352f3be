"""Security checks of the real CLI: plain IMAP only on loopback, no secret in any output, 0600 files, config
warnings, sandboxed templates. (Wrong CA / wrong hostname refusals live in tests/integration/test_run_once.py.)"""

from __future__ import annotations

import os
import stat
import subprocess
from pathlib import Path

import pytest

from introd.config import AccountConfig
from introd.drafting import load_template, substitute
from introd.errors import TLSError
from introd.mailstore.imap import ImapStore
from tests.reliability import harness as h
from tests.servers.dovecot import DovecotServer, MailUser

pytestmark = [pytest.mark.dovecot]


def _cli(config: Path, user: MailUser, *args: str, password: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {**h.introd_env(user), h.PASSWORD_ENV: password if password is not None else user.password}
    return subprocess.run(h.introd_argv(config, *args), capture_output=True, text=True, env=env, timeout=120,
                          check=False)


def test_plain_imap_to_a_non_loopback_host_is_refused_before_connecting(tmp_path: Path,
                                                                        mail_user: MailUser) -> None:
    """security = "plain" to a routable address is refused by the config check and by the store itself."""
    account = AccountConfig(name="work", addresses=("a@b.example",), host="192.0.2.1", port=143, security="plain",
                            username="u", timeout=1)
    with pytest.raises(TLSError, match="non-loopback"):
        ImapStore.connect(account, "pw")
    config = h.write_config(tmp_path, "192.0.2.1", 143, mail_user, timeout=1)
    done = _cli(config, mail_user, "run", "--once")
    assert done.returncode == 2, done.stderr  # the config itself is rejected, naming the key
    assert "allowed only for a loopback host" in done.stderr and "Traceback" not in done.stderr


def test_secrets_stay_out_of_debug_logs_status_and_tracebacks(dovecot: DovecotServer, mail_user: MailUser,
                                                             tmp_path: Path) -> None:
    """With -v (tracebacks on), neither the right nor a wrong password appears in output, status or state."""
    h.load(dovecot, mail_user, h.small_mailbox(intros=2))
    config = h.write_config(tmp_path, dovecot.host, dovecot.port, mail_user)
    good = _cli(config, mail_user, "run", "--once", "-v")
    assert good.returncode == 0, good.stderr[-2000:]
    assert "logged in" in good.stderr  # debug logging really was on
    wrong = "wrong-" + mail_user.password[::-1]
    bad = _cli(config, mail_user, "run", "--once", "-v", password=wrong)
    assert bad.returncode == 4, bad.stderr[-2000:]
    status = _cli(config, mail_user, "status", "--json")
    state_bytes = b"".join(p.read_bytes() for p in tmp_path.iterdir() if p.name.startswith("state.db"))
    for secret in (mail_user.password, wrong):
        assert secret not in good.stdout + good.stderr + bad.stdout + bad.stderr + status.stdout + status.stderr
        assert secret.encode() not in state_bytes


def test_state_files_are_private(dovecot: DovecotServer, mail_user: MailUser, tmp_path: Path) -> None:
    """After a real pass, the state directory is 0700 and the state file, its WAL/SHM and lock are 0600."""
    h.load(dovecot, mail_user, h.small_mailbox(intros=1))
    state_dir = tmp_path / "private"
    config = h.write_config(tmp_path, dovecot.host, dovecot.port, mail_user)
    config.write_text(config.read_text().replace(str(tmp_path / "state.db"), str(state_dir / "state.db")))
    old = os.umask(0o022)  # a typical, permissive umask must not matter
    try:
        done = _cli(config, mail_user, "run", "--once")
    finally:
        os.umask(old)
    assert done.returncode == 0, done.stderr[-2000:]
    assert stat.S_IMODE(state_dir.stat().st_mode) == 0o700
    files = list(state_dir.iterdir())
    assert any(p.name == "state.db" for p in files)
    for path in files:
        assert stat.S_IMODE(path.stat().st_mode) & 0o077 == 0, f"{path.name} is {oct(path.stat().st_mode)}"


def test_config_with_a_secret_command_readable_by_others_warns(tmp_path: Path, mail_user: MailUser) -> None:
    """check-config warns about a group/world-readable config holding password_command, and not once it is 0600."""
    config = h.write_config(tmp_path, "127.0.0.1", 143, mail_user)
    config.write_text(config.read_text().replace(f'password_env = "{h.PASSWORD_ENV}"',
                                                 'password_command = "pass show mail/work"'))
    config.chmod(0o644)
    exposed = _cli(config, mail_user, "check-config")
    assert exposed.returncode == 0, exposed.stderr
    assert "readable by other users" in exposed.stderr and "chmod 600" in exposed.stderr
    config.chmod(0o600)
    private = _cli(config, mail_user, "check-config")
    assert private.returncode == 0 and "readable by other users" not in private.stderr
    env_only = h.write_config(tmp_path, "127.0.0.1", 143, mail_user)  # no command in it: nothing to warn about
    env_only.chmod(0o644)
    assert "readable by other users" not in _cli(env_only, mail_user, "check-config").stderr


def test_user_templates_cannot_read_files_or_run_code(tmp_path: Path) -> None:
    """A user template with format fields, attribute paths and code renders them literally and touches nothing."""
    marker = tmp_path / "pwned"
    hostile = ("Subject: {{subject}} {0.__class__}\n\nHi {{first_name}} {{first_name.__class__.__mro__}}\n"
               f"{{{{__import__('os').system('touch {marker}')}}}} {{{{open('/etc/passwd').read()}}}}\n"
               "{__import__}{{{{first_name}}}}\n")
    (tmp_path / "no_optin.txt").write_text(hostile)
    template, warnings = load_template("no_optin", tmp_path)
    assert not warnings and template.subject is not None
    body, _warnings = substitute(template.body, {"first_name": "{{subject}}"})
    assert "Hi {{subject}} {{first_name.__class__.__mro__}}" in body  # values are never expanded again
    assert "__import__('os')" in body and "open('/etc/passwd')" in body and "root:" not in body
    assert not marker.exists()
