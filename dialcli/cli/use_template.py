"""Templates in use: ``dial ask -t NAME -p field value``, ``dial chat -t NAME`` and
``dial ask --save NAME``."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, TypeVar

from dialcli.errors import UsageError

if TYPE_CHECKING:
    from dialcli.cli.ask import AskOptions
    from dialcli.cli.chat import ChatOptions
    from dialcli.output import IOStreams
    from dialcli.templates import Template


def template_input(io: IOStreams, arg: str | None) -> str | None:
    """What fills ``{{input}}``: piped stdin and/or the PROMPT argument, as a plain ask
    reads them, or None when there is neither (the template's prompt may not need it)."""
    from dialcli.prompt_input import read_prompt, read_stdin

    if arg is None:
        if io.stdin_is_tty:
            return None
        piped = read_stdin(io)
        # The newline that ends a piped file would end up in the middle of the prompt.
        return piped.rstrip("\n") if piped.strip() else None
    return read_prompt(io, arg).rstrip("\n")


def apply_template(opts: AskOptions) -> tuple[AskOptions, str]:
    """The options with the template's settings under the flags given, and the question."""
    from dialcli.cli.templates import find_template
    from dialcli.templates import compose

    assert opts.template is not None
    template = find_template(opts.settings, opts.io, opts.template)
    text = compose(template, dict(opts.params), template_input(opts.io, opts.prompt))
    return merged(opts, template, continuing=bool(opts.continue_id)), text


def apply_chat_template(opts: ChatOptions) -> tuple[ChatOptions, str | None]:
    """The chat's options with the template's settings, and its first question: the
    template's prompt, rendered, unless it is empty or only ``{{input}}`` (what the
    user types next)."""
    from dialcli.cli.templates import find_template
    from dialcli.templates import INPUT, compose

    assert opts.template is not None
    template = find_template(opts.settings, opts.io, opts.template)
    opts = merged(opts, template, continuing=bool(opts.resume_id))
    params = dict(opts.params)
    if template.prompt.strip() in ("", "{{" + INPUT + "}}") and not params:
        return opts, None
    return opts, compose(template, params, None)


Opts = TypeVar("Opts", "AskOptions", "ChatOptions")


def merged(opts: Opts, template: Template, *, continuing: bool) -> Opts:
    """Flags on the command line win; a continued conversation keeps its model and
    system prompt (the template's other settings still apply)."""
    given = opts.given
    changes: dict[str, Any] = {}
    if not continuing:
        if template.model and "model" not in given:
            changes["model"] = opts.settings.resolve_model(template.model)
        if template.system is not None and "system" not in given:
            changes["system"] = template.system
    turn: dict[str, Any] = {}
    if template.temperature is not None and "temperature" not in given:
        turn["temperature"] = template.temperature
    if template.max_tokens is not None and "max_tokens" not in given:
        turn["max_tokens"] = template.max_tokens
    if template.configuration and "configuration" not in given:
        turn["configuration"] = template.configuration
    if turn:
        changes["turn"] = opts.turn._replace(**turn)
    return opts._replace(**changes)


def save_template(opts: AskOptions) -> None:
    """``--save NAME``: the prompt (the PROMPT argument, with its fields), system prompt,
    model and settings as a local template; nothing is asked."""
    from dialcli.cli.templates import find_template, local_templates
    from dialcli.templates import Template, check_name

    assert opts.save_as is not None
    name = check_name(opts.save_as)
    if opts.continue_id:
        raise UsageError("--save keeps settings for new questions; it cannot continue one")
    base = find_template(opts.settings, opts.io, opts.template) if opts.template else None
    if base is not None:
        opts = merged(opts, base, continuing=False)
    prompt = opts.prompt if opts.prompt not in (None, "-") else (base.prompt if base else "")
    template = Template(
        name=name,
        prompt=prompt or "",
        description=base.description if base else None,
        model=opts.model or None,
        system=opts.system,
        temperature=opts.turn.temperature,
        max_tokens=opts.turn.max_tokens,
        configuration=opts.turn.configuration,
    )
    local = local_templates(opts.settings)
    existed = local.exists(name)
    path = local.save(template)
    opts.io.err(f"{'Replaced' if existed else 'Saved'} template {name} in {path}")
