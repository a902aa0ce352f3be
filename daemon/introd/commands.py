"""What each `introd` subcommand does (argument parsing and exit codes live in cli.py)."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from typing import Any

from introd.config import AccountConfig, Config, load_config
from introd.credentials import describe_source, store_in_keyring
from introd.errors import TransientError, UsageError, UserError
from introd.store import StateStore

log = logging.getLogger("introd")


def _config(args: argparse.Namespace) -> Config:
    return load_config(args.config)


def cmd_run(args: argparse.Namespace) -> int:
    """`introd run`: one pass (--once) or the daemon."""
    config = _config(args)
    from introd.runner import run_once

    if not args.once:
        if args.dry_run:
            raise UsageError("--dry-run needs --once (the daemon always acts)")
        from introd.logs import setup_logging
        from introd.service import serve

        if config.log_format != "text":
            setup_logging(args.verbosity, config.log_format)
        return serve(config, verbosity=args.verbosity)
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
    from introd.digest_run import last_digest

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
            "last_digest": last_digest(state, acct.name),
        })
    return {"state": str(config.state.path), "accounts": accounts}


def digest_line(last: dict[str, Any] | None) -> str:
    """The `status` line on the latest weekly digest: sent, filed in the reminders folder, or failed."""
    if last is None:
        return "last digest: none yet"
    where = {"sent": "sent by email", "filed": f"filed in {last['folder']} (not sent by email)",
             "failed": "FAILED: neither sent nor filed (filing is retried)",
             "planned": "being sent"}.get(last["status"], last["status"])
    return f"last digest: {last['period']}, {where}, {last['at']}"


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
        print(f"  {digest_line(acct['last_digest'])}")
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


def cmd_digest(args: argparse.Namespace) -> int:
    """`introd digest`: print the weekly digest, write its HTML, or send it now."""
    from introd.demo import parse_now
    from introd.digest import render_html, render_text
    from introd.digest_run import FILED, SENT, build_for, send_due_digest
    from introd.runner import system_clock

    config = _config(args)
    acct = config.account(args.account) if args.account else config.accounts[0]
    now = parse_now(args.now) if args.now else system_clock()
    if not config.state.path.exists():
        raise UserError(f"no state yet at {config.state.path}: run `introd run --once` first")
    state = StateStore(config.state.path, lock=args.send)
    try:
        if args.send:
            outcome = send_due_digest(config, state, acct, now, force=True)
        digest = build_for(config, state, acct, now)
    finally:
        state.close()
    if args.html:
        try:
            args.html.write_text(render_html(digest), "utf-8")
        except OSError as exc:
            raise UserError(f"--html: cannot write {args.html}: {exc.strerror or exc}") from None
    if not args.send:
        if args.html is None or args.print_digest:
            sys.stdout.write(render_text(digest))
        return 0
    if outcome.status == SENT:
        print(f"digest {outcome.period} sent to {', '.join(outcome.recipients)}")
        return 0
    if outcome.status == FILED:
        print(f"digest {outcome.period} filed in {outcome.folder}: {outcome.error}")
        return 0 if not config.smtp.host else 5
    raise TransientError(f"digest {outcome.period} neither sent nor filed: {outcome.error}")
