"""The emulator application: deployments, listings, auth and DIAL Core's error shapes."""

from __future__ import annotations

import hmac
from collections.abc import Awaitable, Callable, Iterable

from aidial_sdk import DIALApp
from aidial_sdk import HTTPException as DIALException
from aidial_sdk.chat_completion import ChatCompletion
from fastapi import Request
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Receive, Scope, Send

from dialcli.emulator import apps, basic
from dialcli.emulator.catalog import Entry
from dialcli.emulator.resources import ResourceStorage, add_resource_routes
from dialcli.emulator.storage import FileStorage, add_storage_routes

# Paths under a deployment; whatever precedes them is the (possibly '/'-containing) id.
_DEPLOYMENT_ENDPOINTS = (
    "/chat/completions",
    "/completions",
    "/embeddings",
    "/configuration",
    "/rate",
    "/tokenize",
    "/truncate_prompt",
)
_UNAUTHENTICATED_PATHS = frozenset({"/health"})


def deployments(storage: FileStorage) -> list[tuple[Entry, ChatCompletion]]:
    """Every deployment with its listing entry, in listing order."""
    attachments = {"url_attachments": True, "attachments": True}
    table: list[tuple[Entry, ChatCompletion]] = [
        (Entry("echo", "Streams your last message back, word by word."), basic.Echo()),
        (Entry("slow", "Echo with a 50 ms pause before each token."), basic.Slow()),
        (Entry("long", "Answers 30,000 words, or N words for a prompt 'N'."), basic.Long()),
        (Entry("inspect", "Answers with the JSON of the request it received."), basic.Inspect()),
    ]
    for status in sorted(basic.FAILURES):
        entry = Entry(f"fail-{status}", f"Always fails with HTTP {status} before streaming.")
        table.append((entry, basic.Fail(status)))
    table += [
        (Entry("midstream", "Streams a few tokens, then an error event."), basic.Midstream()),
        (Entry("flaky", "Fails the first K requests per prompt ('fail K: ...')."), basic.Flaky()),
        (
            Entry("counter", "Counts turns in custom_content.state.", kind="application"),
            apps.Counter(),
        ),
        (
            Entry("stages", "Streams two stages, then echoes.", kind="application"),
            apps.Stages(),
        ),
        (
            Entry(
                "attachments",
                "Answers with an inline PNG and a stored text file.",
                kind="application",
                features={"attachments": True},
            ),
            apps.Attachments(storage),
        ),
        (
            Entry(
                "attachments-echo",
                "Describes the attachments of your last message.",
                kind="application",
                features=attachments,
                input_attachment_types=["*/*"],
            ),
            apps.AttachmentsEcho(storage),
        ),
        (
            Entry(
                "configurable",
                "Echo; configuration {'style': 'shout'} answers in upper case.",
                kind="application",
                features={"configuration": True},
            ),
            apps.Configurable(),
        ),
    ]
    return table


def dial_error(status: int, message: str, kind: str = "invalid_request_error") -> JSONResponse:
    """A response in DIAL Core's error shape."""
    body = {"error": {"message": message, "type": kind, "code": str(status)}}
    return JSONResponse(body, status_code=status)


def deployment_in_path(path: str) -> str | None:
    """The deployment id a deployment path names, e.g. ``a/b`` in
    ``/openai/deployments/a/b/chat/completions``; None for other paths."""
    for prefix in ("/openai/deployments/", "/v1/deployments/"):
        if path.startswith(prefix):
            rest = path[len(prefix) :]
            for endpoint in _DEPLOYMENT_ENDPOINTS:
                if rest.endswith(endpoint):
                    return rest[: -len(endpoint)]
            return rest
    return None


def not_found_message(path: str) -> str:
    """What DIAL Core says for an unknown path: name the deployment when there is one."""
    deployment = deployment_in_path(path)
    if deployment is not None:
        return f"Deployment {deployment} is not found"
    return f"Route {path} is not found"


class ApiKeyMiddleware:
    """Checks ``Api-Key`` like DIAL Core; without a configured key accepts anything.

    aidial-sdk itself insists on an ``Api-Key`` header (400 otherwise), so in the
    keyless mode a placeholder is added to requests that carry none.
    """

    def __init__(self, app: ASGIApp, api_key: str | None) -> None:
        self.app = app
        self.api_key = api_key

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in _UNAUTHENTICATED_PATHS:
            await self.app(scope, receive, send)
            return
        headers = list(scope["headers"])
        sent = next((v for k, v in headers if k == b"api-key"), None)
        if self.api_key is None:
            if sent is None:
                headers.append((b"api-key", b"emulator-anonymous"))
                scope = {**scope, "headers": headers}
        elif sent is None or not hmac.compare_digest(sent, self.api_key.encode()):
            # Never echo what was sent: it may be a real key typed by mistake.
            message = "Api-Key header is missing" if sent is None else "The API key is invalid"
            await dial_error(401, message)(scope, receive, send)
            return
        await self.app(scope, receive, send)


def build_app(api_key: str | None = None) -> DIALApp:
    """A fresh emulator (its own file storage and counters); ``api_key`` None = open."""
    app = DIALApp(add_healthcheck=True)
    storage = FileStorage()
    table = deployments(storage)
    known = {entry.id for entry, _ in table}
    for entry, impl in table:
        app.add_chat_completion(entry.id, impl)
    _add_listing_routes(app, [entry for entry, _ in table])
    add_storage_routes(app, storage)
    add_resource_routes(app, ResourceStorage(), lambda request: storage.bucket)

    async def http_error(request: Request, exc: Exception) -> JSONResponse:
        # Starlette's router raises its own HTTPException for unknown routes (404)
        # and wrong methods (405); DIAL Core answers those in its error shape.
        assert isinstance(exc, StarletteHTTPException)
        if exc.status_code == 404:
            return dial_error(404, not_found_message(request.url.path))
        if exc.status_code == 405 and deployment_in_path(request.url.path) not in known:
            # "POST /openai/deployments/nope/chat/completions" also matches the GET
            # route for single deployments, so Starlette calls it a 405.
            return dial_error(404, not_found_message(request.url.path))
        if exc.status_code == 405:
            return dial_error(405, f"Method {request.method} is not allowed on this path")
        return dial_error(exc.status_code, str(exc.detail))

    app.add_exception_handler(StarletteHTTPException, http_error)
    app.add_middleware(ApiKeyMiddleware, api_key=api_key)
    return app


def _add_listing_routes(app: DIALApp, entries: Iterable[Entry]) -> None:
    by_id = {entry.id: entry for entry in entries}

    # Like DIAL Core: /openai/models and /openai/deployments list models only (the
    # latter with object "deployment"); applications live under /openai/applications.
    routes = [
        ("/openai/models", "model", "model"),
        ("/openai/deployments", "model", "deployment"),
        ("/openai/applications", "application", "application"),
    ]
    for path, kind, object_name in routes:
        app.add_api_route(path, _listing(by_id, kind, object_name), methods=["GET"])
        app.add_api_route(
            path + "/{deployment_id:path}", _single(by_id, kind, object_name), methods=["GET"]
        )

    @app.get("/v1/deployments/{deployment_id:path}/configuration")
    async def configuration(deployment_id: str) -> JSONResponse:
        entry = by_id.get(deployment_id)
        if entry is None:
            raise DIALException(
                f"Deployment {deployment_id} is not found",
                status_code=404,
                type="invalid_request_error",
            )
        if not entry.to_json()["features"]["configuration"]:
            raise DIALException(
                f"Deployment {deployment_id} has no configuration",
                status_code=404,
                type="invalid_request_error",
            )
        return JSONResponse(apps.CONFIGURATION_SCHEMA)

    @app.get("/v1/deployment-names")
    async def deployment_names() -> JSONResponse:
        return JSONResponse([{"id": e.id, "object": e.kind} for e in by_id.values()])


def _listing(
    by_id: dict[str, Entry], kind: str, object_name: str
) -> Callable[[], Awaitable[JSONResponse]]:
    async def handler() -> JSONResponse:
        data = [e.to_json(object_name) for e in by_id.values() if e.kind == kind]
        return JSONResponse({"object": "list", "data": data})

    return handler


def _single(
    by_id: dict[str, Entry], kind: str, object_name: str
) -> Callable[[str], Awaitable[JSONResponse]]:
    async def handler(deployment_id: str) -> JSONResponse:
        entry = by_id.get(deployment_id)
        if entry is None or entry.kind != kind:
            raise DIALException(
                f"Deployment {deployment_id} is not found",
                status_code=404,
                type="invalid_request_error",
            )
        return JSONResponse(entry.to_json(object_name))

    return handler
