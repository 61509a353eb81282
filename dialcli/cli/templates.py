"""dial templates: local prompt templates and the DIAL prompts they sync with.

No ``from __future__ import annotations`` here: Typer evaluates every string annotation
of every command on every run (``dial ask`` included), which costs this group about
twice as much start-up time as real annotation objects do.
"""

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Annotated

import typer

from dialcli.cli import complete, options
from dialcli.errors import DialError, NotFoundError, UsageError
from dialcli.output import IOStreams

if TYPE_CHECKING:
    from dialcli.config import Settings
    from dialcli.remote.prompts import Prompts
    from dialcli.templates import LocalTemplates, Template

app = typer.Typer(
    help="""Prompt templates: local files and DIAL prompts.

A template is a prompt with {{name}} or {{name|default}} fields, and optionally a
system prompt, model, temperature, max tokens and configuration. Local ones are
templates/NAME.toml in the config directory; DIAL prompts are the ones DIAL Chat shows.
Alone, 'dial templates' lists the local ones, as 'dial templates list' does.

\b
Examples:
  dial templates list --remote
  dial templates edit translate
  dial ask -t translate -p text "good morning"
""",
    invoke_without_command=True,
    subcommand_metavar="[COMMAND [ARGS]...]",
    rich_markup_mode=None,
)


@app.callback()
def templates_root(ctx: typer.Context) -> None:
    if ctx.invoked_subcommand is None:  # alone it lists, as `dial history` does
        list_command(ctx)


NameArg = Annotated[
    str,
    typer.Argument(
        help="Template name (folders with '/').",
        metavar="NAME",
        autocompletion=complete.template_names,
    ),
]


def local_templates(settings: "Settings") -> "LocalTemplates":
    from dialcli.templates import LocalTemplates, templates_dir

    return LocalTemplates(templates_dir(settings.config_path))


@contextmanager
def open_prompts(settings: "Settings", io: IOStreams) -> Iterator["Prompts"]:
    """The prompts of the caller's bucket over the chosen backend's transport."""
    from dialcli.backends.retry import RetryPolicy
    from dialcli.debuglog import NO_LOG, DebugLog
    from dialcli.remote.prompts import Prompts
    from dialcli.remote.storage import StorageClient
    from dialcli.remote.transports import make_transport

    settings = settings.for_requests()
    secrets = [settings.api_key or "", getattr(settings, "token", None) or ""]
    log = DebugLog(io.stderr, secrets) if settings.verbose else NO_LOG
    client = StorageClient(make_transport(settings, log), RetryPolicy(settings.retries), log)
    try:
        yield Prompts(client, client.bucket(), local_templates(settings))
    finally:
        client.close()


def find_template(settings: "Settings", io: IOStreams, ref: str) -> "Template":
    """``-t REF``: a local template, else the DIAL prompt of that name; ``dial:PATH`` is
    always the DIAL prompt."""
    from dialcli.templates import REMOTE_PREFIX, check_name

    remote_only = ref.startswith(REMOTE_PREFIX)
    name = check_name(ref[len(REMOTE_PREFIX) :] if remote_only else ref)
    local = local_templates(settings)
    if not remote_only and local.exists(name):
        return local.load(name)
    try:
        with open_prompts(settings, io) as prompts:
            template, _ = prompts.fetch(name)
            return template
    except NotFoundError:
        where = "in DIAL prompts" if remote_only else f"in {local.root} or in DIAL prompts"
        hint = "; -t names a template: --temperature sets the temperature" if _number(name) else ""
        raise NotFoundError(f"no template {name!r} {where}{hint}") from None
    except DialError as err:
        if remote_only:
            raise
        # Offline, or no key: a mistyped local name must not read as a network problem.
        raise NotFoundError(
            f"no template {name!r} in {local.root}, and DIAL prompts could not be asked: {err}"
        ) from None


def _number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


@app.command("list")
def list_command(
    ctx: typer.Context,
    remote: Annotated[
        bool, typer.Option("--remote", help="List the prompts in DIAL instead.")
    ] = False,
    backend: options.Backend = None,
    verbose: options.Verbose = False,
) -> None:
    """List templates: local ones, or with --remote the prompts in DIAL.

    \b
    Examples:
      dial templates list
      dial templates list --remote | grep review
    """
    io: IOStreams = ctx.obj
    if not remote:
        local = local_templates(options.settings(ctx))
        for name in local.names():
            io.out(name + _description(local, name) + "\n")
        return
    settings = options.settings(ctx, backend=backend, verbose=verbose)
    with open_prompts(settings, io) as prompts:
        for name, _meta in prompts.names():
            io.out(name + "\n")


def _description(local: "LocalTemplates", name: str) -> str:
    try:
        description = local.load(name).description
    except DialError:
        return "\t(unreadable)"
    return f"\t{description}" if description else ""


@app.command("show", short_help="Print a template as its TOML file.")
def show_command(
    ctx: typer.Context,
    name: NameArg,
    backend: options.Backend = None,
    verbose: options.Verbose = False,
) -> None:
    """Print a template as its TOML file (a DIAL prompt if there is no local one).

    \b
    Examples:
      dial templates show translate
      dial templates show dial:work/review > review.toml
    """
    from dialcli.templates import dumps

    io: IOStreams = ctx.obj
    settings = options.settings(ctx, backend=backend, verbose=verbose)
    io.out(dumps(find_template(settings, io, name)))


@app.command("edit", short_help="Open a local template in $EDITOR.")
def edit_command(ctx: typer.Context, name: NameArg) -> None:
    """Open a local template in $EDITOR (VISUAL first), creating it if it is new.

    The file is checked when the editor closes; a broken one is reported (and kept).

    \b
    Examples:
      dial templates edit translate
      dial templates edit work/review
    """
    import os
    import shlex
    import subprocess

    from dialcli.templates import STARTER, check_name

    io: IOStreams = ctx.obj
    local = local_templates(options.settings(ctx))
    path = local.path(check_name(name))
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(STARTER, encoding="utf-8")
    editor = os.environ.get("VISUAL") or os.environ.get("EDITOR") or "vi"
    try:
        done = subprocess.run([*shlex.split(editor), str(path)], check=False)
    except OSError as err:
        raise UsageError(f"cannot run the editor {editor!r}: {err.strerror}") from None
    if done.returncode != 0:
        raise UsageError(f"the editor {editor!r} exited with {done.returncode}")
    local.load(name)  # reports a broken file now, not at the next `ask -t`
    if io.stderr_is_tty:
        io.err(f"Saved {path}")


@app.command("delete", short_help="Delete a local template.")
def delete_command(ctx: typer.Context, name: NameArg) -> None:
    """Delete a local template (a DIAL prompt stays; delete that in DIAL Chat).

    \b
    Examples:
      dial templates delete translate
      dial templates delete work/review
    """
    io: IOStreams = ctx.obj
    local = local_templates(options.settings(ctx))
    local.delete(name)
    if io.stderr_is_tty:
        io.err(f"Deleted template {name}")


@app.command("push")
def push_command(
    ctx: typer.Context,
    name: NameArg,
    backend: options.Backend = None,
    verbose: options.Verbose = False,
) -> None:
    """Upload a local template to DIAL prompts, where DIAL Chat shows it.

    Never overwrites a prompt changed in DIAL since your last push or pull (exit 1).

    \b
    Examples:
      dial templates push translate
      dial templates push work/review
    """
    io: IOStreams = ctx.obj
    settings = options.settings(ctx, backend=backend, verbose=verbose)
    with open_prompts(settings, io) as prompts:
        if not prompts.local.exists(name):
            raise NotFoundError(f"no template {name!r} in {prompts.local.root}")
        prompts.push(name)
        io.out(f"pushed {name}\n")


@app.command("pull")
def pull_command(
    ctx: typer.Context,
    name: Annotated[
        str | None,
        typer.Argument(
            help="Prompt name in DIAL (folders with '/').",
            metavar="NAME",
            show_default=False,
            autocompletion=complete.template_names,
        ),
    ] = None,
    every: Annotated[bool, typer.Option("--all", help="Pull every prompt in DIAL.")] = False,
    backend: options.Backend = None,
    verbose: options.Verbose = False,
) -> None:
    """Save DIAL prompts as local templates.

    Never overwrites a local template with edits that were not pushed (exit 1).

    \b
    Examples:
      dial templates pull translate
      dial templates pull --all
    """
    from dialcli.templates import REMOTE_PREFIX, check_name

    if (name is None) == (not every):
        raise UsageError("give a NAME or --all")
    io: IOStreams = ctx.obj
    settings = options.settings(ctx, backend=backend, verbose=verbose)
    with open_prompts(settings, io) as prompts:
        if name is not None:
            names = [check_name(name.removeprefix(REMOTE_PREFIX))]
        else:
            names = [found for found, _meta in prompts.names()]
        failed: list[DialError] = []
        for each in names:
            try:
                changed = prompts.pull(each)
            except DialError as err:
                if name is not None:
                    raise
                failed.append(err)  # one bad prompt does not stop the others
                io.err(f"dial: {each}: {err}")
                continue
            io.out(f"{'pulled' if changed else 'up to date'}  {each}\n")
    if failed:
        summary = DialError(f"{len(failed)} of {len(names)} prompts were not pulled (see above)")
        summary.exit_code = failed[-1].exit_code
        raise summary
