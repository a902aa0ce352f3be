"""The `introd` command line; the only place exceptions become exit codes."""

from __future__ import annotations

import argparse
import getpass
import json
import logging
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from introd import __version__
from introd.errors import IntrodError, UserError

log = logging.getLogger("introd")

EXIT_CODES = """exit status:
  0  success
  1  unexpected error (a bug: please report it with the -v output)
  2  bad usage or configuration, or a missing credential
  3  TLS certificate or hostname verification failed
  4  the server rejected the login
  5  network error: server unreachable, connection dropped or timed out
  6  the state file is locked by another introd or unusable
"""


def _formatter(prog: str) -> argparse.HelpFormatter:
    return argparse.RawDescriptionHelpFormatter(prog, max_help_position=32)


def _common_options(*, defaults: bool) -> argparse.ArgumentParser:
    """--config, -v and -q, accepted before and after the subcommand.

    Only the top-level copy sets defaults: the subcommand's copy must not reset a value given before it
    (``introd -q demo``).
    """
    common = argparse.ArgumentParser(add_help=False)
    unset: dict[str, Any] = {} if defaults else {"default": argparse.SUPPRESS}
    common.add_argument("-c", "--config", type=Path, metavar="PATH",
                        help="config file (default: $XDG_CONFIG_HOME/introd/config.toml)", **unset)
    verbosity = common.add_mutually_exclusive_group()
    verbosity.add_argument("-v", "--verbose", action="store_const", const=1, dest="verbosity",
                           help="debug logging, with tracebacks", **({"default": 0} if defaults else unset))
    verbosity.add_argument("-q", "--quiet", action="store_const", const=-1, dest="verbosity",
                           help="only warnings and errors", **unset)
    return common


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every subcommand."""
    common = _common_options(defaults=True)

    parser = argparse.ArgumentParser(
        prog="introd",
        description="Keeps business introductions moving: watches your mailbox over IMAP, recognises intro "
        "threads, writes reply drafts into Drafts (never sends) and files reminders.",
        epilog=EXIT_CODES,
        formatter_class=_formatter,
        parents=[common],
    )
    parser.add_argument("--version", action="version", version=f"introd {__version__}")
    sub_common = _common_options(defaults=False)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    run = sub.add_parser("run", parents=[sub_common], formatter_class=_formatter, epilog=EXIT_CODES,
                         help="sync the mailbox and act on due intros",
                         description="Sync headers of INBOX, Sent and Drafts, classify intro candidates, "
                         "track intro state, and write the drafts and reminders that are due. Without --once, "
                         "a long-running service: IMAP IDLE on each watched folder (a new intro gets its draft "
                         "within seconds), time-based due checks, reconnects with backoff; sd_notify under "
                         "systemd (Type=notify). SIGTERM stops cleanly, SIGHUP reloads the config (a bad one is "
                         "rejected and the old one keeps running). One instance per state file.")
    run.add_argument("--once", action="store_true", help="one full pass, then exit (default: run as a daemon)")
    run.add_argument("--dry-run", action="store_true",
                     help="decide and log what would be done; write nothing to the mailbox")

    check = sub.add_parser("check-config", parents=[sub_common], formatter_class=_formatter, epilog=EXIT_CODES,
                           help="validate the config (and optionally log in)",
                           description="Validate the config file and show what introd understood. "
                           "With --connect, log in to each account and show its capabilities and folders.")
    check.add_argument("--connect", action="store_true",
                       help="log in to each account; print capabilities and resolved folders")

    setpw = sub.add_parser("set-password", parents=[sub_common], formatter_class=_formatter,
                           help="store an account's password in the system keyring",
                           description="Prompt for the password of ACCOUNT and store it in the system "
                           "keyring (service \"introd\", user ACCOUNT). Reads one line from stdin when stdin "
                           "is not a terminal.")
    setpw.add_argument("account", metavar="ACCOUNT", help="the account's name in the config")

    status = sub.add_parser("status", parents=[sub_common], formatter_class=_formatter,
                            help="show per-account sync state, intros by stage and pending actions",
                            description="Read the state file and show, per account: last successful sync, "
                            "last error, messages indexed, intros by stage and pending actions.")
    status.add_argument("--json", action="store_true", help="machine-readable output")

    explain = sub.add_parser("explain", parents=[sub_common], formatter_class=_formatter,
                             help="show why a message was (or was not) taken for an intro",
                             description="Classify message files (or a message from the state store) and "
                             "show the label, the rules that fired with their evidence, and, for messages "
                             "from the state store, the thread's intro state and due actions.")
    explain.add_argument("files", nargs="*", type=Path, metavar="FILE.eml", help="RFC 5322 message files")
    explain.add_argument("--message-id", metavar="ID", help="explain a message from the state store")
    explain.add_argument("--account", metavar="NAME", help="account for --message-id (default: first)")
    explain.add_argument("--user", action="append", default=[], metavar="ADDRESS",
                         help="the user's own address when explaining files (default: the config's, if any)")
    explain.add_argument("--now", metavar="TIME",
                         help="the clock for intro state, ISO 8601 (default: the current time)")
    explain.add_argument("--json", action="store_true", help="one JSON object per message, one per line")

    demo = sub.add_parser("demo", parents=[sub_common], formatter_class=_formatter, epilog=EXIT_CODES,
                          help="try introd on a bundled example mailbox (no network, no config needed)",
                          description="Copy a bundled example Maildir (one person's mailbox: a dozen intro "
                          "threads plus ordinary mail) to DIR, run one full pass with a fixed clock, and show "
                          "every intro with your role, its stage and what is due, then the drafts, reminders "
                          "and digest introd wrote. Uses no network and no config file; DIR must be new or "
                          "empty (default: a fresh temporary directory, left in place).")
    demo.add_argument("dir", nargs="?", type=Path, metavar="DIR", help="where to put the copy (new or empty)")
    demo.add_argument("--now", metavar="TIME",
                      help="the pass's clock, ISO 8601 (default: 2026-03-16T14:00:00Z, the mailbox's Monday)")
    demo.add_argument("--json", action="store_true", help="machine-readable output")

    digest = sub.add_parser("digest", parents=[sub_common], formatter_class=_formatter, epilog=EXIT_CODES,
                            help="show or send the weekly digest of your intros",
                            description="Build the weekly digest from the state file (what the last pass "
                            "found: replies you owe, who you wait on, intros made without an opt-in, stalled "
                            "ones) and print it, or send it now to your own address over SMTP ([smtp]); when "
                            "sending fails it is filed in the reminders folder. `introd run` sends it by itself "
                            "once a week ([digest] day and time).")
    digest_mode = digest.add_mutually_exclusive_group()
    digest_mode.add_argument("--print", action="store_true", dest="print_digest",
                             help="write the plain-text digest to stdout (the default)")
    digest_mode.add_argument("--send", action="store_true",
                             help="send it now (even if this week's went out already)")
    digest.add_argument("--html", type=Path, metavar="FILE", help="also write the HTML version to FILE")
    digest.add_argument("--account", metavar="NAME", help="the account (default: the first)")
    digest.add_argument("--now", metavar="TIME", help="the clock, ISO 8601 (default: the current time)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `introd` console script."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if not args.command:
        parser.print_help()
        return 2
    from introd.logs import setup_logging

    setup_logging(args.verbosity)
    try:
        return _dispatch(args)
    except UserError as exc:
        print(f"introd: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except IntrodError as exc:
        print(f"introd: error: {exc}", file=sys.stderr)
        log.debug("details", exc_info=True)
        return exc.exit_code
    except KeyboardInterrupt:
        return 130


def _dispatch(args: argparse.Namespace) -> int:
    from introd import commands

    handler = {
        "run": commands.cmd_run,
        "check-config": commands.cmd_check_config,
        "set-password": commands.cmd_set_password,
        "status": commands.cmd_status,
        "explain": commands.cmd_explain,
        "demo": commands.cmd_demo,
        "digest": commands.cmd_digest,
    }[args.command]
    return handler(args)


def read_password(prompt: str) -> str:
    """Prompt without echo on a terminal; read one line from a pipe otherwise."""
    if sys.stdin.isatty():
        return getpass.getpass(prompt)
    return sys.stdin.readline().rstrip("\r\n")


def print_json(data: Any) -> None:
    """Print one JSON document on one line."""
    print(json.dumps(data, ensure_ascii=False, default=str))
