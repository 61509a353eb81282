"""Every failure a user can meet, and the exit code each ends in (``exit_code_for``);
and the run's secrets, which no failure's message shows.

``dialcli.__main__.main`` turns these into the error line and the exit code; chat,
batch and several ``-m`` also print theirs as they go, so the message itself is masked.
"""

from __future__ import annotations

EXIT_INTERNAL = 1  # a bug of ours: one line, the traceback with DIAL_DEBUG=1
EXIT_INTERRUPTED = 130  # Ctrl-C: 128 + SIGINT, as a shell reports it
EXIT_PIPE_CLOSED = 141  # 128 + SIGPIPE: the reader of stdout went away
EXIT_TERMINATED = 143  # 128 + SIGTERM


# Every secret this run uses (the key or token, from wherever it came; credentials in
# DIAL_URL), with what is shown instead: a server may echo any of them in its messages.
_SECRETS: dict[str, str] = {}


def redact(value: str) -> str:
    """Keep at most the last 4 characters of a secret, so it can be recognised."""
    if len(value) <= 8:
        return "***"
    return "***" + value[-4:]


def add_secret(value: str, shown: str | None = None) -> None:
    """Never show ``value``: ``shown`` instead (default: redacted)."""
    if shown is not None or len(value) >= 6:  # a 1-5 character "key" is no secret worth it
        _SECRETS[value] = redact(value) if shown is None else shown


def add_url_secrets(url: str) -> None:
    """Credentials in a URL (``http://user:pass@host``) are shown as ``http://host``."""
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    userinfo, at, _ = parts.netloc.rpartition("@")
    if at:
        add_secret(userinfo + "@", "")
        if parts.password:
            add_secret(parts.password, "***")


def forget_secrets() -> None:
    """A new run (tests run many in one process) starts with none."""
    _SECRETS.clear()


def scrub(text: str) -> str:
    """``text`` with every registered secret replaced; longest first (one may hold another)."""
    for secret in sorted(_SECRETS, key=len, reverse=True):
        if secret in text:
            text = text.replace(secret, _SECRETS[secret])
    return text


class DialError(Exception):
    """Base of all user-facing failures; ``str(err)`` is the one line shown.

    ``message`` is masked when read: a secret registered after the error was made (a key
    from a command) is masked too, and a message extended later (``err.message = ...``)
    as well.
    """

    exit_code = 1

    def __init__(
        self, message: str, *, status: int | None = None, retry_after: float | None = None
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.retry_after = retry_after

    @property
    def message(self) -> str:
        return scrub(self._message)

    @message.setter
    def message(self, text: str) -> None:
        self._message = text
        self.args = (scrub(text),)  # what repr() and a traceback's last line show

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


class NothingFound(DialError):
    """A search matched nothing: exit 1 as grep does, with no error line (the command
    says so itself on a terminal)."""

    exit_code = 1

    def __init__(self) -> None:
        super().__init__("")


class PipeClosed(Exception):
    """The reader of stdout went away (``dial ask … | head -1``)."""


class Terminated(BaseException):
    """Raised from the SIGTERM handler so cleanup runs as for Ctrl-C (exit 143)."""


class Stopped(Exception):
    """Work stopped on the user's side (Ctrl-C, SIGTERM, a closed stdout) and was wound
    up; ``cause`` says which. (``turn.AnswerInterrupted`` adds the partial answer.)"""

    def __init__(self, cause: BaseException) -> None:
        super().__init__("interrupted")
        self.cause = cause

    @property
    def ends_the_program(self) -> bool:
        """Only a Ctrl-C may leave an interactive chat running; the rest end it."""
        return not isinstance(self.cause, KeyboardInterrupt)


def exit_code_for(exc: BaseException) -> int:
    """The exit code a failure or an interrupt ends ``dial`` with (the table below)."""
    if isinstance(exc, Stopped):
        return exit_code_for(exc.cause)
    if isinstance(exc, DialError):
        return exc.exit_code
    if isinstance(exc, PipeClosed):
        return EXIT_PIPE_CLOSED
    if isinstance(exc, Terminated):
        return EXIT_TERMINATED
    if isinstance(exc, KeyboardInterrupt):
        return EXIT_INTERRUPTED
    return EXIT_INTERNAL


EXIT_CODES: list[tuple[int, str]] = [
    (0, "ok"),
    (1, "server or API error (incl. an incomplete answer, a failed save); no search match"),
    (2, "usage or configuration error"),
    (3, "authentication or permission"),
    (4, "not found (deployment, conversation)"),
    (5, "rate limited after retries"),
    (6, "network or timeout"),
    (EXIT_INTERRUPTED, "interrupted by Ctrl-C"),
    (EXIT_PIPE_CLOSED, "the reader of stdout went away (e.g. '| head -1')"),
    (EXIT_TERMINATED, "terminated by SIGTERM"),
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
