"""Argument parsing: the common options work before and after the subcommand."""

from __future__ import annotations

import pytest

from introd.cli import build_parser


@pytest.mark.parametrize(
    ("argv", "verbosity", "config"),
    [
        ("status", 0, None),
        ("-q status", -1, None),
        ("status -q", -1, None),
        ("-v run --once", 1, None),
        ("-c a.toml status", 0, "a.toml"),
        ("status -c b.toml", 0, "b.toml"),
    ],
)
def test_common_options_before_or_after_the_subcommand(argv: str, verbosity: int, config: str | None) -> None:
    """-q/-v/--config given before the subcommand are not reset by the subcommand's own copy."""
    args = build_parser().parse_args(argv.split())
    assert args.verbosity == verbosity
    assert (str(args.config) if args.config else None) == config
