"""Backends: one contract (base.py), two implementations chosen by name."""

from __future__ import annotations

from typing import TYPE_CHECKING

from dialcli.errors import UsageError

if TYPE_CHECKING:
    from dialcli.backends.base import Backend
    from dialcli.config import Settings
    from dialcli.output import IOStreams


def get_backend(settings: Settings, io: IOStreams | None = None) -> Backend:
    """Build the chosen backend; the vendor client is imported only for ``sdk``."""
    from dialcli.debuglog import NO_LOG, DebugLog, add_request_secrets

    # URL and backend are checked, and the credential is needed, only now: a key or
    # token from a command is fetched here, once, and then redacted from the -v log
    # and from error lines like any other.
    both = settings.has_both_credentials
    settings = settings.for_requests()
    add_request_secrets(settings.url, settings.secrets())
    log = DebugLog(io.stderr, settings.secrets()) if settings.verbose and io else NO_LOG
    if both:
        log(
            "both a token and an API key are configured: sending the token (Authorization: "
            "Bearer); DIAL refuses a request that carries both"
        )
    if settings.backend == "raw":
        from dialcli.backends.raw import RawBackend

        return RawBackend(settings, log)
    try:  # "sdk", the only other name for_requests() lets through
        from dialcli.backends.sdk import SdkBackend
    except ModuleNotFoundError as err:
        if err.name and err.name.startswith("dialcli"):
            raise UsageError("the sdk backend is not available yet; use --backend raw") from None
        raise UsageError(f"the sdk backend needs {err.name}: pip install aidial-client") from None
    return SdkBackend(settings, log)
