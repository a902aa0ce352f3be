"""What each `introd` subcommand does (argument parsing and exit codes live in cli.py)."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from typing import Any

from introd.config import AccountConfig, Config, load_config
from introd.credentials import describe_source, store_in_keyring
from introd.errors import UsageError, UserError
from introd.store import StateStore

log = logging.getLogger("introd")


def _config(args: argparse.Namespace) -> Config:
    return load_config(args.config)


def cmd_run(args: argparse.Namespace) -> int:
    """`introd run`: one pass (--once) or the daemon."""
    config = _config(args)
    from introd.runner import run_once

    if not args.once:
        raise UsageError("the long-running daemon is not available yet; use `introd run --once`")
    state = StateStore(config.state.path, lock=True)
    try:
        results = run_once(config, state, dry_run=args.dry_run)
    finally:
        state.close()
    if args.dry_run:
        log.info("dry run: nothing was written to the mailbox")
    errors = [r.error for r in results if r.error is not None]
    return max((e.exit_code for e in errors), default=0)


def _account_lines(acct: AccountConfig) -> list[str]:
    where = f"maildir {acct.maildir}" if acct.backend == "maildir" else (
        f"{acct.host}:{acct.port} ({acct.security}), user {acct.username}"
    )
    lines = [f"account {acct.name}: {where}",
             f"  addresses: {', '.join(acct.addresses)}; watch: {', '.join(acct.watch)}"]
    if acct.backend == "imap":
        lines.append(f"  password from: {describe_source(acct)}")
    return lines


def cmd_check_config(args: argparse.Namespace) -> int:
    """`introd check-config`: validate, show what was understood, optionally log in."""
    config = _config(args)
    print(f"config {config.path}: OK")
    print(f"state: {config.state.path}")
    t = config.timing
    print(f"timing: owe reply {t.owe_reply_days}d, nudge {t.nudge_days}d (max {t.max_nudges}), "
          f"stalled {t.stalled_days}d, follow-up {t.followup_days}d, "
          f"{'business' if t.business_days else 'calendar'} days, {t.timezone}")
    for acct in config.accounts:
        print("\n".join(_account_lines(acct)))
    if not args.connect:
        return 0
    from introd.runner import open_store

    worst = 0
    for acct in config.accounts:
        try:
            store = open_store(acct)
        except UserError as exc:
            print(f"account {acct.name}: FAILED: {exc}")
            worst = max(worst, exc.exit_code)
            continue
        try:
            caps = store.capabilities()
            wanted = ("IDLE", "CONDSTORE", "QRESYNC", "SPECIAL-USE", "MOVE", "UIDPLUS")
            print(f"account {acct.name}: connected; capabilities: "
                  + ", ".join(f"{c} {'yes' if c in caps else 'no'}" for c in wanted))
            sf = store.special_folders()
            print(f"  folders: inbox {sf.inbox}, sent {sf.sent or '-'}, drafts {sf.drafts or '-'}, "
                  f"archive {sf.archive or '-'} (delimiter {sf.delimiter!r})")
        finally:
            store.close()
    return worst


def cmd_set_password(args: argparse.Namespace) -> int:
    """`introd set-password ACCOUNT`: prompt and store in the keyring."""
    from introd.cli import read_password

    config = _config(args)
    acct = config.account(args.account)
    password = read_password(f"Password for {acct.username or acct.name}: ")
    if not password:
        raise UserError("empty password: nothing stored")
    store_in_keyring(acct, password)
    print(f"stored the password for account {acct.name} in the keyring")
    return 0


def status_data(config: Config, state: StateStore) -> dict[str, Any]:
    """Everything `introd status` shows, as plain data."""
    accounts = []
    for acct in config.accounts:
        row = state.account_status(acct.name)
        pending: list[dict[str, Any]] = []
        for intro in state.intros(acct.name):
            for due in json.loads(intro["due"]):
                pending.append({"thread": intro["thread_id"], "subject": intro["subject"],
                                "kind": due["kind"], "reason": due["reason"]})
        accounts.append({
            "name": acct.name,
            "connected": bool(row.get("connected", False)),
            "last_sync": row.get("last_sync"),
            "last_error": row.get("last_error"),
            "messages_indexed": state.message_count(acct.name),
            "skipped": state.skipped_count(acct.name),
            "intros_by_stage": state.intro_stage_counts(acct.name),
            "pending_actions": pending,
        })
    return {"state": str(config.state.path), "accounts": accounts}


def cmd_status(args: argparse.Namespace) -> int:
    """`introd status`: per-account state from the state file."""
    from introd.cli import print_json

    config = _config(args)
    if not config.state.path.exists():
        data: dict[str, Any] = {"state": str(config.state.path), "accounts": []}
        if args.json:
            print_json(data)
        else:
            print(f"no state yet at {config.state.path}: run `introd run --once` first")
        return 0
    state = StateStore(config.state.path)
    try:
        data = status_data(config, state)
    finally:
        state.close()
    if args.json:
        print_json(data)
        return 0
    for acct in data["accounts"]:
        print(f"{acct['name']}: {'connected' if acct['connected'] else 'not connected'}, "
              f"last sync {acct['last_sync'] or 'never'}")
        if acct["last_error"]:
            print(f"  last error: {acct['last_error']}")
        print(f"  {acct['messages_indexed']} messages indexed, {acct['skipped']} skipped as malformed")
        stages = ", ".join(f"{k} {v}" for k, v in acct["intros_by_stage"].items()) or "none"
        print(f"  intros: {stages}")
        for p in acct["pending_actions"]:
            print(f"  due: {p['kind']}: {p['subject']}: {p['reason']}")
    return 0


def cmd_explain(args: argparse.Namespace) -> int:
    """`introd explain`: why a message was or was not taken for an intro."""
    from introd.explain import run_explain

    return run_explain(args, sys.stdout)


def cmd_demo(args: argparse.Namespace) -> int:
    """`introd demo [DIR]`: one pass over the bundled example mailbox with a fixed clock."""
    from introd.demo import parse_now, run_demo

    if args.verbosity == 0:  # the report is the output; the pass's INFO lines only with -v
        logging.getLogger().setLevel(logging.WARNING)
    return run_demo(args.dir, sys.stdout, now=parse_now(args.now), as_json=args.json)
