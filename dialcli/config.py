"""Settings, resolved once: flags > environment > config.toml > defaults."""

from __future__ import annotations

import os
import stat
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, NamedTuple
from urllib.parse import urlsplit

from dialcli import config_checks as checks
from dialcli.errors import UsageError, add_secret, add_url_secrets

APP_NAME = "dial"
DEFAULT_URL = "http://localhost:8080"
DEFAULT_MODEL = "gpt-4o"
DEFAULT_BACKEND = "raw"
BACKENDS = ("raw", "sdk")
# DIAL Core's OpenAPI spec marks api-version as required on chat completions. DIAL Chat
# sends 2025-01-01-preview (apps/chat/src/constants/default-server-settings.ts); older
# versions are refused for current models behind DIAL's Azure adapter.
DEFAULT_API_VERSION = "2025-01-01-preview"
DEFAULT_RETRIES = 2
DEFAULT_CONNECT_TIMEOUT = 10.0
DEFAULT_READ_TIMEOUT = 120.0

ENV_VARS: list[tuple[str, str]] = [
    ("DIAL_API_KEY", "API key sent as the Api-Key header (this or DIAL_TOKEN is required)"),
    ("DIAL_TOKEN", "bearer token (JWT from SSO), sent as Authorization; wins over the key"),
    ("DIAL_URL", f"base URL of DIAL (default {DEFAULT_URL})"),
    ("DIAL_MODEL", f"deployment used when -m is not given (default {DEFAULT_MODEL})"),
    ("DIAL_BACKEND", "raw (httpx, default) or sdk (aidial-client)"),
    ("DIAL_API_VERSION", f"api-version query parameter (default {DEFAULT_API_VERSION})"),
    ("DIAL_HOME", "data directory for saved conversations"),
    ("DIAL_CONFIG", "path of config.toml"),
    ("DIAL_LOG", "'debug' logs requests and responses to stderr, like -v"),
    ("NO_COLOR", "disable colour"),
]

# Every key config.toml may hold (docs/configuration.md); anything else is a typo.
CONFIG_KEYS = frozenset(
    {
        "url",
        "api_key",
        "api_key_command",
        "token",
        "token_command",
        "model",
        "backend",
        "api_version",
        "retries",
        "timeouts",
        "system",
        "markdown",
        "system_question",
        "aliases",
        "home",
        "max_prompt_tokens",
    }
)
TIMEOUT_KEYS = frozenset({"connect", "read"})
# Keys only config.toml can set (no flag, no environment variable).
FILE_ONLY = ("api_key_command", "token_command", "markdown", "system_question", "max_prompt_tokens")
# How the flags passed to resolve_settings are spelled on the command line.
FLAG_NAMES = {"read_timeout": "--timeout", "connect_timeout": "--connect-timeout"}
MAX_CONFIG_BYTES = 1024 * 1024
KEY_COMMAND_TIMEOUT = 60.0  # long enough for a passphrase prompt (pinentry), not forever


def user_config_path() -> Path:
    from platformdirs import user_config_path as _user_config_path

    return _user_config_path(APP_NAME) / "config.toml"


def user_data_path() -> Path:
    from platformdirs import user_data_path as _user_data_path

    return _user_data_path(APP_NAME)


@dataclass(frozen=True)
class Settings:
    url: str = DEFAULT_URL
    api_key: str | None = field(default=None, repr=False)
    api_key_command: str | None = field(default=None, repr=False)
    token: str | None = field(default=None, repr=False)
    token_command: str | None = field(default=None, repr=False)
    model: str = DEFAULT_MODEL
    backend: str = DEFAULT_BACKEND
    api_version: str | None = DEFAULT_API_VERSION
    home: Path = field(default_factory=user_data_path)
    config_path: Path = field(default_factory=user_config_path)
    retries: int = DEFAULT_RETRIES
    connect_timeout: float = DEFAULT_CONNECT_TIMEOUT
    read_timeout: float = DEFAULT_READ_TIMEOUT
    system: str | None = None
    verbose: bool = False
    markdown: bool | None = None
    system_question: bool = True  # dial chat asks for a system prompt when none is set
    aliases: dict[str, str] = field(default_factory=dict)
    # Where each came from, named when it is refused (a secret is never shown).
    api_key_source: str = "DIAL_API_KEY"
    token_source: str = "DIAL_TOKEN"
    url_source: str = ""
    max_prompt_tokens: int | None = None  # ask/chat: DIAL may leave out old turns to fit
    # Setting -> where it came from, as the *_source fields word it (`dial config show`).
    sources: Mapping[str, str] = field(default_factory=dict, repr=False, compare=False)

    def require_key(self) -> str:
        """The key (running api_key_command if that is its source), or a usage error."""
        if self.api_key:
            return checks.secret(self.api_key, self.api_key_source)
        if self.api_key_command:
            return run_key_command(self.api_key_command, self.config_path)
        raise UsageError(
            "no API key or token: run 'dial config init', or set DIAL_API_KEY or DIAL_TOKEN,"
            f" or api_key, api_key_command, token or token_command in {self.config_path}"
        )

    @property
    def has_token(self) -> bool:
        return bool(self.token or self.token_command)

    @property
    def has_both_credentials(self) -> bool:
        """A token and a key are both configured (the token is used: Core refuses both)."""
        return self.has_token and bool(self.api_key or self.api_key_command)

    def with_key(self) -> Settings:
        """These settings with the credential resolved: call it when a request is about to
        be made. A token wins over a key, whose command is then never run."""
        if self.token:
            checks.secret(self.token, self.token_source, "token")
            return self
        if self.token_command:
            token = run_key_command(self.token_command, self.config_path, "token_command")
            return replace(self, token=token)
        return self if self.api_key else replace(self, api_key=self.require_key())

    def for_requests(self) -> Settings:
        """These settings checked for talking to DIAL (URL, backend), with the credential.

        Only commands that make requests call it, so a bad DIAL_URL or DIAL_BACKEND never
        stops ``dial history`` or completion.
        """
        if self.backend not in BACKENDS:
            raise UsageError(f"unknown backend {self.backend!r}; choose 'raw' or 'sdk'")
        checked = replace(self, url=validate_url(self.url, self.url_source)).with_key()
        _for_requests[:] = [checked]  # an error line can say where URL and key came from
        return checked

    def auth_header(self) -> tuple[str, str]:
        """The one credential header to send: a bearer token, else the key. Never both:
        DIAL Core answers 400 to a request that carries both (Proxy.authorizeRequest)."""
        if self.token:
            return (
                "Authorization",
                f"Bearer {checks.secret(self.token, self.token_source, 'token')}",
            )
        return "Api-Key", self.require_key()

    def secrets(self) -> list[str]:
        """Every resolved secret, for redaction."""
        return [s for s in (self.api_key, self.token) if s]

    def resolve_model(self, name: str | None) -> str:
        """A model name or alias from the command line, or the default."""
        chosen = name or self.model
        return self.aliases.get(chosen, chosen)

    def with_overrides(self, **changes: Any) -> Settings:
        return replace(self, **{k: v for k, v in changes.items() if v is not None})


class ConfigFile(NamedTuple):
    """config.toml, read and parsed once per run."""

    path: Path
    data: dict[str, Any]  # {} when absent or broken
    error: UsageError | None = None  # unreadable or invalid: raised when settings are needed


def read_config_file(path: Path) -> ConfigFile:
    """The parsed config.toml; an absent file is an empty one."""
    from dialcli.bounded import mib, read_at_most

    try:
        raw = read_at_most(path, MAX_CONFIG_BYTES)  # DIAL_CONFIG=/dev/zero must not hang
    except FileNotFoundError:
        return ConfigFile(path, {})
    except OSError as err:
        message = f"cannot read config file {path}: {err.strerror}"
        return ConfigFile(path, {}, UsageError(message))
    if len(raw) > MAX_CONFIG_BYTES:
        too_large = f"cannot read config file {path}: larger than {mib(MAX_CONFIG_BYTES)}"
        return ConfigFile(path, {}, UsageError(too_large))
    import tomllib  # only when there is a file: most runs have none (~5 ms of start-up)

    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as err:
        return ConfigFile(path, {}, UsageError(f"invalid config file {path}: {err}"))
    return ConfigFile(path, data)


# The settings this run's requests use (hints.py names their sources in an error line).
_for_requests: list[Settings] = []


def request_settings() -> Settings | None:
    """The settings last checked for requests in this run, if any."""
    return _for_requests[-1] if _for_requests else None


def forget_request_settings() -> None:
    _for_requests.clear()  # tests run main() many times in one process


def run_key_command(command: str, config_path: Path, name: str = "api_key_command") -> str:
    """The first line the shell command prints; its failure is a usage error.

    Neither the command's output nor its error text is ever shown: the output is the
    key, and a failing secret manager may echo parts of it. Run once per run: the
    caller keeps the key in its Settings (``with_key``).
    """
    import subprocess

    where = f"{name} (in {config_path})"
    try:
        done = subprocess.run(
            command,
            shell=True,
            stdin=subprocess.DEVNULL,  # the prompt may be arriving on our stdin
            capture_output=True,
            timeout=KEY_COMMAND_TIMEOUT,
        )
    except subprocess.TimeoutExpired:
        raise UsageError(f"{where} did not finish within {KEY_COMMAND_TIMEOUT:.0f} s") from None
    except OSError as err:
        raise UsageError(f"{where} could not be run: {err.strerror}") from None
    if done.returncode != 0:
        raise UsageError(
            f"{where} failed with exit status {done.returncode}; run it yourself to see why"
        )
    lines = done.stdout.decode("utf-8", "replace").strip().splitlines()
    key = lines[0].strip() if lines else ""  # a CRLF line end goes with the strip
    if not key:
        raise UsageError(f"{where} printed no key")
    add_secret(key)  # read: masked in every error from now on
    return checks.secret(key, where, "token" if name == "token_command" else "API key")


def config_file_warnings(config: ConfigFile) -> list[str]:
    """Typos (unknown keys) and an API key in a file others can read; [] if unreadable.

    A file that cannot be read or parsed is left to resolve_settings, which reports it
    as an error when a command needs the settings.
    """
    path, data = config.path, config.data
    warnings = [f"unknown key {key!r} in {path}" for key in data if key not in CONFIG_KEYS]
    timeouts = data.get("timeouts")
    if isinstance(timeouts, dict):
        warnings += [
            f"unknown key 'timeouts.{key}' in {path}" for key in timeouts if key not in TIMEOUT_KEYS
        ]
    if data.get("api_key") or data.get("token"):
        try:
            mode = path.stat().st_mode
        except OSError:
            mode = 0
        if mode & (stat.S_IRGRP | stat.S_IROTH):
            what = "an API key" if data.get("api_key") else "a token"
            warnings.append(f"{path} is readable by others and holds {what}; chmod 600 {path}")
    return warnings


def config_path_from(env: Mapping[str, str]) -> Path:
    """DIAL_CONFIG, else config.toml in the platform's user config directory."""
    return Path(env["DIAL_CONFIG"]) if env.get("DIAL_CONFIG") else user_config_path()


def read_config(env: Mapping[str, str] | None = None) -> ConfigFile:
    """The config file this run uses (DIAL_CONFIG or the default), parsed."""
    return read_config_file(config_path_from(os.environ if env is None else env))


def validate_url(url: str, where: str = "") -> str:
    """A DIAL base URL: http(s), with a host; trailing slash dropped."""
    source = f" ({where})" if where else ""
    if url != url.strip() or any(ord(c) < 0x20 or ord(c) == 0x7F for c in url):
        raise UsageError(f"invalid DIAL URL {url!r}{source}: blanks or control characters")
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError:
        raise UsageError(f"invalid DIAL URL {url!r}{source}: bad port") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UsageError(f"invalid DIAL URL {url!r}{source}: expected http(s)://host[:port][/path]")
    return url.rstrip("/")


def _prompt_limit(value: Any, source: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise UsageError(f"invalid max_prompt_tokens {value!r} in {source}: a positive integer")
    return value


def resolve_settings(
    flags: Mapping[str, Any] | None = None,
    env: Mapping[str, str] | None = None,
    config: ConfigFile | None = None,
) -> Settings:
    """Flags > environment > config.toml > defaults, resolved once per run.

    The URL and the backend are checked only by ``for_requests``: commands that work
    on local files never fail over them.
    """
    flags = {k: v for k, v in (flags or {}).items() if v is not None}
    env = os.environ if env is None else env
    if config is None:
        config = read_config(env)
    if config.error is not None:
        raise config.error
    config_path, file = config.path, config.data
    checks.check_file(file, config_path)

    # Where each setting came from, for errors and `dial config show`.
    sources = {key: checks.file_where(key, config_path) for key in FILE_ONLY if key in file}

    def pick(flag: str, env_name: str | None, key: str, default: Any) -> tuple[Any, str]:
        """The value and where it came from (named in errors)."""
        if flag in flags:
            value, where = flags[flag], FLAG_NAMES.get(flag, f"--{flag}")
        elif env_name and env.get(env_name):
            value, where = env[env_name], env_name
        elif key in file:
            value, where = file[key], checks.file_where(key, config_path)
        else:
            value, where = default, "the default"
        sources[key] = where
        return value, where

    timeouts = file.get("timeouts", {})
    for name, flag in (("connect", "connect_timeout"), ("read", "read_timeout")):
        in_file = checks.file_where(f"timeouts.{name}", config_path) if name in timeouts else ""
        sources[f"timeouts.{name}"] = FLAG_NAMES[flag] if flag in flags else in_file
    connect = flags.get("connect_timeout", timeouts.get("connect", DEFAULT_CONNECT_TIMEOUT))
    read, read_where = (
        (flags["read_timeout"], "--timeout")
        if "read_timeout" in flags
        else (
            timeouts.get("read", DEFAULT_READ_TIMEOUT),
            checks.file_where("timeouts.read", config_path),
        )
    )
    home_value, home_where = pick("home", "DIAL_HOME", "home", None)
    log = env.get("DIAL_LOG", "").lower() == "debug"
    backend = str(pick("backend", "DIAL_BACKEND", "backend", DEFAULT_BACKEND)[0])
    api_version = pick("api_version", "DIAL_API_VERSION", "api_version", DEFAULT_API_VERSION)[0]
    url, url_where = pick("url", "DIAL_URL", "url", DEFAULT_URL)
    add_url_secrets(str(url))  # read: before for_requests, whose URL error may quote it
    api_key, key_where = pick("api_key", "DIAL_API_KEY", "api_key", None)
    token, token_where = pick("token", "DIAL_TOKEN", "token", None)
    for secret in (api_key, token):
        if secret:
            add_secret(str(secret))  # read: masked in every error from now on
    return Settings(
        url=str(url).rstrip("/"),  # checked by for_requests, which names url_source
        url_source=url_where,
        api_key=api_key,
        api_key_source=key_where,
        api_key_command=file.get("api_key_command") or None,
        token=token,
        token_source=token_where,
        token_command=file.get("token_command") or None,
        model=str(pick("model", "DIAL_MODEL", "model", DEFAULT_MODEL)[0]),
        backend=backend,
        api_version=str(api_version) if api_version else None,
        home=checks.home(home_value, home_where) if home_value else user_data_path(),
        config_path=config_path,
        retries=checks.retries(*pick("retries", None, "retries", DEFAULT_RETRIES)),
        connect_timeout=checks.seconds(connect, checks.file_where("timeouts.connect", config_path)),
        read_timeout=checks.seconds(read, read_where),
        system=pick("system", None, "system", None)[0],
        verbose=bool(flags.get("verbose")) or log,
        markdown=file.get("markdown"),
        system_question=file.get("system_question", True),
        max_prompt_tokens=_prompt_limit(file.get("max_prompt_tokens"), str(config_path)),
        aliases=dict(file.get("aliases", {})),
        sources=sources,
    )
