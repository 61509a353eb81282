"""Options shared by several commands, declared once."""

from __future__ import annotations

from typing import Annotated

import typer

Model = Annotated[
    str | None,
    typer.Option("--model", "-m", help="Deployment (or alias) to use. Default: DIAL_MODEL."),
]
Backend = Annotated[
    str | None,
    typer.Option("--backend", help="raw (httpx, default) or sdk (aidial-client)."),
]
Verbose = Annotated[
    bool,
    typer.Option("--verbose", "-v", help="Log requests and responses to stderr (key redacted)."),
]
AsJson = Annotated[bool, typer.Option("--json", help="Print JSON instead of text.")]
Retries = Annotated[
    int | None,
    typer.Option("--retries", min=0, max=10, help="Retries on connection errors and 408/429/5xx."),
]
Timeout = Annotated[
    float | None,
    typer.Option(
        "--timeout", min=0.1, help="Read timeout between chunks, in seconds (default 120)."
    ),
]


def flags(**values: object) -> dict[str, object]:
    """Command-line values that were given (None means: not on the command line)."""
    return {k: v for k, v in values.items() if v is not None and v is not False}
