"""The reliability suite starts each session with an empty counts file."""

from __future__ import annotations

import pytest

from tests.reliability.harness import COUNTS_FILE


@pytest.fixture(scope="session", autouse=True)
def fresh_counts() -> None:
    """Forget the counts of an earlier session."""
    COUNTS_FILE.unlink(missing_ok=True)
