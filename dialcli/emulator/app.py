"""The emulator application: deployments, listings, auth and DIAL Core's error shapes."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from dataclasses import replace

from aidial_sdk import DIALApp
from aidial_sdk.chat_completion import ChatCompletion, FinishReason
from fastapi import Request
from fastapi.responses import JSONResponse, PlainTextResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from dialcli.emulator import apps, basic, metering
from dialcli.emulator.auth import CoreAuthMiddleware
from dialcli.emulator.catalog import Entry
from dialcli.emulator.load import LoadSettings, add_load_routes
from dialcli.emulator.load import deployments as load_deployments
from dialcli.emulator.resources import PROMPTS, ResourceStorage, add_resource_routes
from dialcli.emulator.rules import CoreRequestRules
from dialcli.emulator.storage import FileStorage, add_storage_routes, caller_bucket

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
# DIAL Core's config Deployment.displayName is a LocalizedValue: a string or {locale: text}.
LOCALIZED_NAME = {"en": "Long answers", "uk": "Довгі відповіді", "de": "Lange Antworten"}


def deployments(
    storage: FileStorage, meter: metering.Meter | None = None
) -> list[tuple[Entry, ChatCompletion]]:
    """Every deployment with its listing entry, in listing order."""
    attachments = {"url_attachments": True, "attachments": True}
    table: list[tuple[Entry, ChatCompletion]] = [
        (Entry("echo", "Streams your last message back, word by word."), basic.Echo()),
        (Entry("slow", "Echo with a 50 ms pause before each token."), basic.Slow()),
        (
            Entry(
                "long",
                "Answers 30,000 words, or N words for a prompt 'N'.",
                display_name=LOCALIZED_NAME,
            ),
            basic.Long(),
        ),
        (Entry("inspect", "Answers with the JSON of the request it received."), basic.Inspect()),
    ]
    for status in sorted(basic.FAILURES):
        entry = Entry(f"fail-{status}", f"Always fails with HTTP {status} before streaming.")
        table.append((entry, basic.Fail(status)))
    table += [
        (Entry("midstream", "Streams a few tokens, then an error event."), basic.Midstream()),
        (Entry("flaky", "Fails the first K requests per prompt ('fail K: ...')."), basic.Flaky()),
        (
            Entry("content-filter", "Stops after a few tokens: finish_reason content_filter."),
            basic.Cut(FinishReason.CONTENT_FILTER, "this answer was filtered", "Filtered."),
        ),
        (
            Entry("length", "Stops after max_tokens (default 3): finish_reason length."),
            basic.Cut(FinishReason.LENGTH, "one two three four five six"),
        ),
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
    table += metering.deployments(meter or metering.Meter())
    return table + doc_aliases(table)


# The deployment names README.md and docs/usage.md use, so that every example there runs
# against the emulator as written. Each is listed as an alias, saying of what.
DOC_ALIASES = {
    "gpt-4o": "echo",
    "gpt-4o-mini": "echo",
    "claude": "echo",
    "my-app": "configurable",
}


def doc_aliases(table: list[tuple[Entry, ChatCompletion]]) -> list[tuple[Entry, ChatCompletion]]:
    """``DOC_ALIASES`` as deployments of their own, answering as their target does."""
    by_id = {entry.id: (entry, handler) for entry, handler in table}
    aliases = []
    for alias, target in DOC_ALIASES.items():
        entry, handler = by_id[target]
        described = f"Alias of {target}, a name the docs use. {entry.description}"
        aliases.append((replace(entry, id=alias, description=described, display_name=""), handler))
    return aliases


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
    """What DIAL Core says (plain text) for an unknown path."""
    if deployment_in_path(path) is not None:
        return "Deployment is not found"
    return f"Route {path} is not found"


def build_app(
    api_key: str | None = None, token: str | None = None, load: LoadSettings | None = None
) -> DIALApp:
    """A fresh emulator (its own file storage and counters).

    ``api_key`` / ``token``: the key and bearer token it accepts; both None = open.
    ``load``: the latency and limit of the load deployments (``load.py``).
    """
    app = DIALApp(add_healthcheck=True)
    storage = FileStorage()
    meter = metering.Meter()
    load_table = load_deployments(load or LoadSettings())
    table = deployments(storage, meter) + load_table
    known = {entry.id for entry, _ in table}
    for entry, impl in table:
        app.add_chat_completion(entry.id, impl)
    _add_listing_routes(app, [entry for entry, _ in table])
    add_storage_routes(app, storage)
    metering.add_limits_route(app, known, meter)
    add_resource_routes(app, ResourceStorage(), caller_bucket)
    add_resource_routes(app, ResourceStorage(PROMPTS), caller_bucket)
    add_load_routes(app, load_table)

    async def http_error(request: Request, exc: Exception) -> Response:
        # Starlette's router raises its own HTTPException for unknown routes (404)
        # and wrong methods (405); DIAL Core answers those as plain text
        # (DeploymentPostController: 404 "Deployment is not found").
        assert isinstance(exc, StarletteHTTPException)
        unknown = deployment_in_path(request.url.path) not in known
        if exc.status_code == 404 or (exc.status_code == 405 and unknown):
            # "POST /openai/deployments/nope/chat/completions" also matches the GET
            # route for single deployments, so Starlette calls it a 405.
            return PlainTextResponse(not_found_message(request.url.path), status_code=404)
        if exc.status_code == 405:
            return PlainTextResponse("Method Not Allowed", status_code=405)
        return dial_error(exc.status_code, str(exc.detail))

    app.add_exception_handler(StarletteHTTPException, http_error)
    features = {entry.id: entry.to_json()["features"] for entry, _ in table}
    app.add_middleware(metering.FeatureRoutes, features=features)
    # The last added runs first: credentials, then the request rules that need the bucket.
    app.add_middleware(CoreRequestRules)
    app.add_middleware(CoreAuthMiddleware, api_key=api_key, token=token)
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
    async def configuration(deployment_id: str) -> Response:
        # DeploymentFeatureController.handle(..., requireEndpoint=false): a deployment
        # without a configuration endpoint is answered 200 with an empty body.
        entry = by_id.get(deployment_id)
        if entry is None:
            return PlainTextResponse(f"Deployment {deployment_id} is not found", 404)
        if not entry.to_json()["features"]["configuration"]:
            return Response(status_code=200)
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
) -> Callable[[str], Awaitable[Response]]:
    async def handler(deployment_id: str) -> Response:
        entry = by_id.get(deployment_id)
        if entry is None or entry.kind != kind:
            # DeploymentController.getDeployment: context.respond(NOT_FOUND), no body.
            return Response(status_code=404)
        return JSONResponse(entry.to_json(object_name))

    return handler
