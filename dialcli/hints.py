"""What to do next, added to the error line of a first-run failure.

A newcomer's first errors are an unreachable URL they never chose (the default) and a
401 from a key whose origin they have forgotten. ``Settings.for_requests`` remembers the
settings a request is made with (``config.request_settings``), so ``__main__`` can name,
for any backend or command, where the URL or the credential came from: the environment
variable, the config file, or the command that printed it. Never the key itself.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from dialcli.config import Settings


def _origin(where: str, path: object, command: str) -> str:
    """``where`` as resolve_settings words it, or the command that produced the value."""
    if where and where != "the default":
        return where
    return f"{command} in {path}"


def url_hint(settings: Settings) -> str:
    if settings.url_source in ("", "the default"):
        return (
            f"; {settings.url} is the default URL: set DIAL_URL, or 'url' in"
            f" {settings.config_path} ('dial config set url URL', or 'dial config init')"
        )
    return f" (the URL comes from {settings.url_source})"


def credential_hint(settings: Settings) -> str:
    path = settings.config_path
    if settings.token:
        origin = _origin(settings.token_source, path, "token_command")
        return f" (the token was sent, from {origin}; 'dial config show' lists every setting)"
    origin = _origin(settings.api_key_source, path, "api_key_command")
    return f" (the API key came from {origin}; 'dial config show' lists every setting)"


def hint_for(err: BaseException) -> str:
    """The hint to add to ``err``'s line, or ""."""
    from dialcli.backends.retry import ConnectFailed
    from dialcli.config import request_settings
    from dialcli.errors import AuthError

    settings = request_settings()
    if settings is None:
        return ""
    if isinstance(err, ConnectFailed):
        return url_hint(settings)
    if isinstance(err, AuthError) and err.status == 401:
        return credential_hint(settings)
    return ""
