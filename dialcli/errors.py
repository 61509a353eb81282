"""Every failure a user can meet, with the exit code it ends in.

Only ``dialcli.__main__.main`` turns these into stderr text and a number.
"""

from __future__ import annotations


class DialError(Exception):
    """Base of all user-facing failures; ``str(err)`` is the one line shown."""

    exit_code = 1

    def __init__(
        self, message: str, *, status: int | None = None, retry_after: float | None = None
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.retry_after = retry_after

    def __str__(self) -> str:
        return self.message


class ServerError(DialError):
    """5xx, an error event in the stream, or a reply we cannot parse."""

    exit_code = 1


class IncompleteAnswerError(ServerError):
    """The stream ended or broke before the answer was complete."""


class ContentFilteredError(ServerError):
    """An answer stopped by DIAL's content filter (``finish_reason: content_filter``)."""


class UsageError(DialError):
    """Bad arguments or configuration; also 400 from the server."""

    exit_code = 2


class AuthError(DialError):
    """401/403: the key is wrong or lacks access."""

    exit_code = 3


class NotFoundError(DialError):
    """404: unknown deployment, or an unknown saved conversation."""

    exit_code = 4


class RateLimitError(DialError):
    """429 after the retries ran out."""

    exit_code = 5


class NetworkError(DialError):
    """Connection refused or dropped, DNS failure, connect or read timeout."""

    exit_code = 6


class StorageError(DialError):
    """The conversation store could not be read or written."""

    exit_code = 1


class Interrupted(DialError):
    """Ctrl-C (130) or SIGTERM (143)."""

    exit_code = 130


EXIT_CODES: list[tuple[int, str]] = [
    (0, "ok"),
    (1, "server or API error (incl. an incomplete answer, a failed save)"),
    (2, "usage or configuration error"),
    (3, "authentication or permission"),
    (4, "not found (deployment, conversation)"),
    (5, "rate limited after retries"),
    (6, "network or timeout"),
    (130, "interrupted by Ctrl-C (143 for SIGTERM)"),
]


def error_for_status(status: int, message: str, *, retry_after: float | None = None) -> DialError:
    """Map an HTTP status and the server's message to one error class."""
    cls: type[DialError]
    if status in (401, 403):
        cls = AuthError
    elif status == 404:
        cls = NotFoundError
    elif status == 429:
        cls = RateLimitError
    elif status in (408, 504):
        cls = NetworkError
    elif 400 <= status < 500:
        cls = UsageError
    else:
        cls = ServerError
    return cls(message, status=status, retry_after=retry_after)
