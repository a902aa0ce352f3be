"""config.example.toml documents every option the parser knows, and nothing else."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

from introd.config import AccountConfig, DaemonConfig, DigestConfig, DraftsConfig, RemindersConfig, SmtpConfig
from introd.intros import Timing

EXAMPLE = Path(__file__).resolve().parents[2] / "config.example.toml"
KEY_LINE = re.compile(r"^#?\s?([a-z_]+)\s*=")


def documented_keys() -> dict[str, set[str]]:
    """Table name -> keys shown in the example, set or commented out."""
    keys: dict[str, set[str]] = {}
    table = ""
    for line in EXAMPLE.read_text().splitlines():
        header = re.match(r"^\[\[?([a-z_]+)\]\]?", line)
        if header:
            table = header.group(1)
            keys.setdefault(table, set())
            continue
        match = KEY_LINE.match(line)
        if match and table:
            keys[table].add(match.group(1))
    return keys


def fields(cls: type) -> set[str]:
    return {f.name for f in dataclasses.fields(cls)}


def test_every_option_is_documented_in_the_example() -> None:
    """Each table of the example lists exactly the keys its dataclass (and so the parser) accepts."""
    keys = documented_keys()
    assert keys["state"] == {"path"}
    assert keys["accounts"] == fields(AccountConfig)
    assert keys["timing"] == fields(Timing)
    assert keys["drafts"] == fields(DraftsConfig)
    assert keys["reminders"] == fields(RemindersConfig)
    assert keys["logging"] == {"format"}
    assert keys["daemon"] == fields(DaemonConfig)
    assert keys["digest"] == fields(DigestConfig)
    assert keys["smtp"] == fields(SmtpConfig)
