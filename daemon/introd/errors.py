"""One exception hierarchy; transient errors also inherit ConnectionError.

Exit codes (documented in the README) belong to the error class, so the CLI is
the only place that turns an exception into a status.
"""

from __future__ import annotations


class IntrodError(Exception):
    """Base of every error introd raises on purpose."""

    exit_code = 1


class UserError(IntrodError):
    """A problem the user can fix; printed as one line without a traceback."""

    exit_code = 1


class UsageError(UserError):
    """The command line asked for something introd cannot do."""

    exit_code = 2


class ConfigError(UserError):
    """The configuration file is unreadable or invalid."""

    exit_code = 2

    def __init__(self, path: str, key: str, problem: str) -> None:
        self.path = path
        self.key = key
        self.problem = problem
        where = f"{path}: {key}: " if key else f"{path}: "
        super().__init__(f"{where}{problem}")


class CredentialError(UserError):
    """A secret could not be obtained from its configured source."""

    exit_code = 2


class TLSError(UserError):
    """The server's certificate or hostname did not verify."""

    exit_code = 3


class AuthenticationError(UserError):
    """The server rejected the login."""

    exit_code = 4


class TransientError(IntrodError, ConnectionError):
    """A network failure worth retrying with backoff (refused, reset, timeout, BYE)."""

    exit_code = 5


class StateError(UserError):
    """The state database is locked by another instance or unusable."""

    exit_code = 6


class MailStoreError(IntrodError):
    """The mail store answered with an error that retrying will not fix."""

    exit_code = 5


class DeliveryError(IntrodError):
    """The SMTP server refused the digest for a reason retrying will not fix (5xx, a refused recipient)."""

    exit_code = 5
