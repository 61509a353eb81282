"""The sdk backend: EPAM's aidial-client (sync ``Dial``), made to behave like raw.

Both backends must give the same visible results, so this module governs what the
library would otherwise decide on its own:

- retries: all of the library's are off (its own and the inner openai client's); the
  project's ``with_retries`` wraps the call that opens the response, as in raw;
- timeouts: raw's connect/read/write/pool timeouts reach every request;
- errors: mapped from the chained originals (``sdk_errors``), not from the library's
  flattened ``DialException``;
- logging: httpx event hooks show what goes over the wire; chunks are logged as the
  library hands them over.

One private API is used: aidial-client's ``SyncHTTPClient`` (to hand ``Dial`` our own
httpx client, so file requests are logged and seen like the rest) and its
``FinalRequestOptions`` (to GET listings through it). Only on the minor version it was
checked against (``CHECKED_AIDIAL_CLIENT``, pinned in pyproject); on any other the
backend keeps to public APIs: the library's default client for files, our httpx client
for listings and (through openai's public ``with_options``) for chat.
``tests/test_private_apis.py`` fails when the installed library is not the checked one.

Imported only when the sdk backend is chosen: ``import aidial_client`` loads openai.
"""

from __future__ import annotations

import warnings
from collections import deque
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

import httpx
import orjson
from aidial_client import Dial
from openai import Omit

from dialcli import __version__
from dialcli.backends.base import (
    Backend,
    ChatRequest,
    OpenStream,
    encoded_url,
    files_url,
    quote_deployment,
)
from dialcli.backends.retry import RetryPolicy, with_retries
from dialcli.backends.sdk_errors import map_error, not_json_error
from dialcli.backends.transport import DecodedStream, http_timeout, tls_verify
from dialcli.config import Settings
from dialcli.debuglog import NO_LOG, DebugLog
from dialcli.errors import DialError, ServerError
from dialcli.sse import EventTooLarge, SSEDecoder

T = TypeVar("T")

# openai re-serialises the chunks it built without validation; a field of the wrong type
# (content: 42) makes pydantic print a warning block on stderr, as the library turns the
# chunk into its own model (and refuses it: see _WatchedStream.explain for the message).
warnings.filterwarnings("ignore", message="Pydantic serializer warnings", category=UserWarning)

CHECKED_AIDIAL_CLIENT = "0.18"  # the minor version whose private API is used below


def _private_api() -> tuple[Any, Any] | None:
    """aidial-client's SyncHTTPClient and FinalRequestOptions, on the checked version only."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        if version("aidial-client").split(".")[:2] != CHECKED_AIDIAL_CLIENT.split("."):
            return None
        # SyncHTTPClient is the only way to hand Dial an httpx.Client of our own (event
        # hooks, timeouts); FinalRequestOptions is how its resources describe a request.
        from aidial_client._http_client import SyncHTTPClient
        from aidial_client._internal_types._http_request import FinalRequestOptions
    except (ImportError, PackageNotFoundError):
        return None
    return SyncHTTPClient, FinalRequestOptions


PRIVATE_API = _private_api()

_USER_AGENT = f"dial/{__version__}"
# Added by openai per request, outside its default_headers.
_OPENAI_EXTRA_HEADERS = ("x-stainless-retry-count", "x-stainless-read-timeout")


class SdkBackend(Backend):
    def __init__(self, settings: Settings, log: DebugLog = NO_LOG) -> None:
        self._settings = settings
        self._log = log
        # One credential: a bearer token wins over the key (DIAL refuses both).
        self._token = settings.token
        self._key = None if self._token else settings.require_key()
        self._policy = RetryPolicy(retries=settings.retries)
        # The response of the current attempt, seen by the hook before anyone reads it:
        # tells "no answer at all" from "answer broke off", and gives us the headers.
        self._response: httpx.Response | None = None
        self._watch: _WatchedStream | None = None  # the current event stream's bytes
        timeout = http_timeout(settings)
        self._client = httpx.Client(
            headers={"User-Agent": _USER_AGENT},
            verify=tls_verify(settings.url),
            timeout=timeout,
            event_hooks={"request": [self._on_request], "response": [self._on_response]},
        )
        self._http: Any = None  # the library's HTTP client, where the private API is usable
        extra: dict[str, Any] = {}
        if PRIVATE_API is not None:
            sync_http_client, self._request_options = PRIVATE_API
            self._http = extra["http_client"] = sync_http_client(
                base_url=settings.url,
                api_key=self._key,
                bearer_token=self._token,
                max_retries=0,  # the library's own retries (listings); ours wrap every call
                timeout=timeout,
                internal_http_client=self._client,
            )
        self._dial = Dial(
            base_url=settings.url,
            api_key=self._key,
            bearer_token=self._token,
            max_retries=0,
            timeout=timeout,
            api_version=settings.api_version,
            **extra,
        )
        completions = self._dial.chat.completions
        # The sync Dial builds its openai client without max_retries/timeout (aidial-client
        # 0.18), so chat calls got openai's defaults: 2 retries honouring Retry-After and
        # a 600 s timeout. A copy with ours, on our httpx client (public openai API).
        completions.openai_client = completions.openai_client.with_options(
            max_retries=0, timeout=timeout, http_client=self._client
        )
        # openai imports its resources on the first call (about 500 modules, the jiter C
        # extension among them). Loaded now, inside chat's interrupt-deferred backend
        # setup: a Ctrl-C that cut that import in half broke the chat ("TypeError:
        # expected a message argument" from the half-loaded extension).
        _ = completions.openai_client.chat.completions
        # Headers as raw sends them: our User-Agent, httpx's Accept, none of openai's telemetry
        # (X-Stainless-*, including a retry count that would be 0 on every retry of ours).
        # Omit() in extra_headers removes a header openai would add.
        self._headers: dict[str, Any] = {"User-Agent": _USER_AGENT, "Accept": Omit()}
        for name in [*completions.openai_client.default_headers, *_OPENAI_EXTRA_HEADERS]:
            if name.lower().startswith("x-stainless"):
                self._headers[name] = Omit()

    def close(self) -> None:
        self._dial.close()
        self._client.close()

    # -- the wire, as far as the library lets us see it ----------------------------

    def _on_request(self, request: httpx.Request) -> None:
        self._response = None
        self._watch = None
        self._log.request(request)

    def _on_response(self, response: httpx.Response) -> None:
        self._response = response
        log = self._log
        log.response(response)
        if _is_event_stream(response):
            stream = response.stream
            encoding = response.headers.get("content-encoding", "identity").strip().lower()
            if encoding in DecodedStream.ENCODINGS:
                # The watcher needs the decoded bytes: decode here, and httpx must not again.
                stream = DecodedStream(stream, encoding)
                del response.headers["content-encoding"]
            elif encoding != "identity":
                return  # not one we asked for: the library decides what it means
            self._watch = _WatchedStream(stream)
            response.stream = self._watch
            return
        # A JSON body or an error page: reading it here is harmless (the library reads
        # it whole anyway) and lets -v show it like raw does.
        response.read()
        if log.enabled:
            log(f"< {response.content.decode('utf-8', 'replace')}", timed=True)

    # -- errors ------------------------------------------------------------------------

    def _error(self, err: BaseException, model: str | None, *, started: bool = False) -> DialError:
        if self._log.enabled and not isinstance(err, DialError):
            self._log(f"library error: {type(err).__name__}: {_first_line(err)}")
        started = started or self._response is not None
        # A key the server echoes is masked by DialError itself (get_backend registered it).
        return map_error(err, self._settings, model=model, started=started)

    def _guarded(self, call: Callable[[], T], model: str | None) -> T:
        """One attempt; whatever the library raises comes out as a DialError."""
        self._response = None
        try:
            return call()
        # Only DialError may leave a backend; map_error re-raises a bug of ours as is.
        except Exception as err:
            raise self._error(err, model) from None

    def _with_retries(self, call: Callable[[], T], model: str | None) -> T:
        return with_retries(lambda: self._guarded(call, model), self._policy, self._log)

    # -- the contract ------------------------------------------------------------------

    def _create(self, request: ChatRequest, *, stream: bool) -> Any:
        # misc: mypy gives up on the overloads' many unions; the call is checked at run time
        return self._dial.chat.completions.create(  # type: ignore[misc]
            # Quoted like raw's URL: openai puts the name into the path as it is. With the
            # body's "model" omitted below, the quoting shows nowhere else.
            deployment_name=quote_deployment(request.model),
            messages=request.messages,  # type: ignore[arg-type]  # plain dicts, as sent
            stream=stream,  # type: ignore[call-overload]
            api_version=self._settings.api_version,
            temperature=request.temperature,
            max_tokens=request.max_tokens,
            custom_fields=request.custom_fields or None,  # type: ignore[arg-type]
            max_prompt_tokens=request.max_prompt_tokens,  # None: not sent
            # openai puts "model" in the body; DIAL takes the deployment from the URL, and
            # raw does not send it. Omit drops the key when openai merges extra_body.
            extra_body={"model": Omit()},
            extra_headers={**self._headers, **request.headers()},
        )

    # -- the primitives base.Backend builds on ------------------------------------------

    def _open_stream(self, request: ChatRequest) -> OpenStream:
        # create(stream=True) returns once the response headers are in: an HTTP error
        # raises here (retryable), a broken stream later while iterating (not retried).
        def attempt() -> tuple[Iterator[Any], httpx.Response | None]:
            return iter(self._create(request, stream=True)), self._response

        chunks, response = self._with_retries(attempt, request.model)
        watch = self._watch

        def close() -> None:
            # Closing the library's generator does not reach openai's Stream when the
            # consumer stops early (a closed pipe, Ctrl-C): close the response ourselves.
            getattr(chunks, "close", lambda: None)()
            if response is not None:
                response.close()

        return OpenStream(
            content_type=None if response is None else response.headers.get("content-type", ""),
            body=lambda: response.content if response is not None else b"",
            reads=self._reads(chunks, request.model, watch),
            close=close,
        )

    def _reads(
        self, chunks: Iterator[Any], model: str, watch: _WatchedStream | None
    ) -> Iterator[list[Any]]:
        """Each chunk as the library hands it over, as the dict the server sent."""
        log = self._log
        while True:
            try:
                chunk = next(chunks)
            except StopIteration:
                # openai swallows [DONE]; the shared parser must see it as raw's does.
                if watch is not None and watch.done:
                    yield [b"[DONE]"]
                return
            except Exception as err:  # see _guarded
                # aidial-client refuses chunks raw refuses too, in its own words: say
                # it in raw's, from the payload it refused.
                ours = watch.explain() if watch is not None else None
                raise (ours or self._error(err, model, started=True)) from None
            if watch is not None:
                watch.consumed()
            data = as_sent(chunk)
            if log.enabled:
                log(f"< chunk: {orjson.dumps(data).decode()}", timed=True)
            yield [data]

    def _post_json(self, request: ChatRequest) -> Any:
        def attempt() -> Any:
            completion = self._create(request, stream=False)
            if not hasattr(completion, "model_dump"):
                # openai goes by the reply's content type, not by what was asked: an
                # event stream (or text) comes back as a chunk generator. raw calls that
                # not JSON.
                getattr(completion, "close", lambda: None)()
                if self._response is None:
                    raise ServerError("unexpected reply from the server: not a JSON object")
                raise not_json_error(self._response)
            return completion

        return as_sent(self._with_retries(attempt, request.model))

    def _get_json(self, path: str, *, model: str | None = None) -> Any:
        """GET through the library's own HTTP client; the JSON as the server wrote it.

        aidial-client has no models.list(), and its typed objects (deployments.list(),
        Deployment) drop fields that raw shows: listings and deployment details are read
        as JSON.
        """
        return self._request_json("GET", path, None, model)

    def _send_json(self, path: str, body: Any, *, model: str | None = None) -> Any:
        # aidial-client 0.18 has no API for tokenize or limits: its HTTP client it is.
        return self._request_json("POST", path, body, model)

    def _request_json(self, method: str, path: str, body: Any, model: str | None) -> Any:
        version = self._settings.api_version
        params = {"api-version": version} if version else None
        if self._http is not None:
            options = self._request_options(method=method, url=path, params=params, json_data=body)
            response = self._with_retries(
                lambda: self._http.request(cast_to=httpx.Response, options=options), model
            )
        else:
            response = self._with_retries(
                lambda: self._public_request(method, path, params, body), model
            )
        try:
            return orjson.loads(response.content)
        except orjson.JSONDecodeError:
            raise not_json_error(response) from None

    def _public_request(
        self, method: str, path: str, params: dict[str, str] | None, body: Any
    ) -> httpx.Response:
        """A GET (or JSON POST) on our own httpx client, where the library's is out of reach."""
        name, value = self._settings.auth_header()
        response = self._client.request(
            method, f"{self._settings.url}/{path}", params=params, headers={name: value}, json=body
        )
        response.raise_for_status()  # mapped like the library's own status errors
        return response

    # -- DIAL file storage: through the library's own API (bucket, files) -----------------

    def bucket(self) -> str:
        return str(self._with_retries(self._dial.bucket.get_bucket, None))

    def upload_file(self, path: str, data: bytes, content_type: str) -> str:
        name = path.rsplit("/", 1)[-1]
        # Encoded: the library puts the url into the request path as it is.
        url = files_url(path)
        meta = self._with_retries(
            lambda: self._dial.files.upload(url=url, file=(name, data, content_type)), None
        )
        given = getattr(meta, "url", None)
        return given if isinstance(given, str) and given else url

    def download_file(self, url: str) -> bytes:
        safe = encoded_url(url)
        return self._with_retries(lambda: self._dial.files.download(safe).get_content(), None)


class _WatchedStream(httpx.SyncByteStream):
    """An event stream's bytes on their way to openai's decoder, seen by ours first.

    Our decoder enforces the cap on one event (raising the same error as raw) and
    notices ``[DONE]``, which openai swallows. Pieces without a line end are held and
    handed over joined with the one that ends the line: openai's decoder appends each
    piece to the line so far, which costs quadratic time on a long line.
    """

    def __init__(self, inner: Any) -> None:
        self._inner = inner
        self._decoder = SSEDecoder()
        self.done = False
        self._unread: deque[bytes] = deque()  # payloads the library has not yielded yet

    def __iter__(self) -> Iterator[bytes]:
        pending: list[bytes] = []
        for piece in self._inner:
            try:
                payloads = self._decoder.feed_data(piece)
            except EventTooLarge as err:
                raise ServerError(str(err)) from None
            self.done = self.done or b"[DONE]" in payloads
            self._unread.extend(p for p in payloads if p != b"[DONE]")
            if b"\n" not in piece and b"\r" not in piece:
                pending.append(piece)
                continue
            if pending:
                pending.append(piece)
                piece = b"".join(pending)
                pending = []
            yield piece
        if pending:
            yield b"".join(pending)

    def close(self) -> None:
        self._inner.close()

    def consumed(self) -> None:
        """The library yielded the oldest payload as a chunk."""
        if self._unread:
            self._unread.popleft()

    def explain(self) -> DialError | None:
        """Raw's error for the first unread payload the shared checks refuse, if any."""
        from dialcli.backends.replies import delta_from_chunk

        for payload in self._unread:
            try:
                chunk = orjson.loads(payload)
            except orjson.JSONDecodeError:
                return None
            if not isinstance(chunk, dict) or chunk.get("error") is not None:
                return None
            try:
                delta_from_chunk(chunk)
            except ServerError as err:
                return err
        return None


def _is_event_stream(response: httpx.Response) -> bool:
    return response.headers.get("content-type", "").startswith("text/event-stream")


def as_sent(model: Any) -> dict[str, Any]:
    """A library chunk or completion as the dict the server sent, near enough.

    ``exclude_none`` drops the many fields openai's types add as null; but inside
    ``custom_content`` the server's own nulls matter (a stage's ``"status": null`` is
    kept by the stage merge), and there every key present was sent, so ``exclude_unset``.
    """
    data: dict[str, Any] = model.model_dump(exclude_none=True)
    for plain, choice in zip(data.get("choices") or (), model.choices or (), strict=False):
        for part in ("delta", "message"):
            custom = getattr(getattr(choice, part, None), "custom_content", None)
            if custom is not None and part in plain:
                plain[part]["custom_content"] = custom.model_dump(exclude_unset=True)
    return data


def _first_line(err: BaseException) -> str:
    return (str(err) or type(err).__name__).split("\n", 1)[0]
