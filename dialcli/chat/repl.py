"""The chat loop: read a turn, run a slash command or ask the model, save, repeat.

Two modes, fixed at start: *interactive* (stdin and stdout are terminals: prompts,
spinner, labels, Markdown, Ctrl-C stops an answer and the chat goes on) and
*scripted* (anything else: each line is a turn, only answers reach stdout, Ctrl-C
ends the program as in ``ask``). A failed request is reported on one line and
changes nothing; the chat continues in both modes.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import suppress
from typing import TYPE_CHECKING, Any

from dialcli.chat.commands import COMMANDS, STOP, parse_command, unescape
from dialcli.chat.lineinput import LineSource, read_turn
from dialcli.conversation import Role
from dialcli.errors import DialError, UsageError

if TYPE_CHECKING:
    from dialcli.backends.base import Backend, ChatRequest, Delta, Reply
    from dialcli.chat.spinner import NoSpinner, Spinner
    from dialcli.cli.chat import ChatOptions
    from dialcli.conversation import Message
    from dialcli.output import AnswerWriter
    from dialcli.session import Session

INTERRUPT_HINT = "(Ctrl-C again or Ctrl-D to exit)"


class ChatLoop:
    def __init__(
        self, opts: ChatOptions, session: Session, lines: LineSource, *, interactive: bool
    ) -> None:
        self.opts = opts
        self.io = opts.io
        self.session = session
        self.lines = lines
        self.interactive = interactive
        self.color = interactive and not opts.io.no_color
        self.failures: list[DialError] = []
        self.pending_attachments: list[str] = []  # /attach: sent with the next question
        self._backend: Backend | None = None

    # -- the loop -------------------------------------------------------------------

    def run(self) -> None:
        """Until /exit, Ctrl-D, end of input, or a second Ctrl-C at the prompt."""
        try:
            self._loop()
        finally:
            if self._backend is not None:
                self._backend.close()

    def _loop(self) -> None:
        armed = False  # the previous key at the prompt was Ctrl-C
        while True:
            try:
                text = read_turn(self.lines, self._prompt("You:"), "... ")
            except EOFError:
                if self.interactive:
                    self.io.out("\n")  # the shell's prompt starts on a fresh line
                return
            except KeyboardInterrupt:
                if not self.interactive:
                    raise
                self.io.out("\n")
                if armed:
                    return
                armed = True
                self.notice(INTERRUPT_HINT)
                continue
            armed = False
            try:
                if self.handle(text) == STOP:
                    return
            except KeyboardInterrupt:
                # Between answer and prompt (saving, rendering): drop it, keep chatting.
                if not self.interactive:
                    raise
                self.io.out("\n")
                self.notice("[interrupted]")

    def handle(self, text: str) -> str | None:
        """Run one input: a slash command, or a question for the model."""
        parsed = parse_command(text)
        if parsed is not None:
            name, arg = parsed
            found = COMMANDS.get(name)
            if found is None:
                self.fail(UsageError(f"unknown command /{name} (try /help)"))
                return None
            try:
                return found.run(self, arg)
            except DialError as err:  # a bad argument ends that command, not the chat
                self.fail(err)
                return None
        text = unescape(text)
        if text.strip():  # blank lines are skipped, never sent
            self.ask(text)
        return None

    # -- output helpers ---------------------------------------------------------------

    def _prompt(self, label: str) -> str:
        if not self.color:
            return f"{label} "
        # \001 and \002 tell readline the escapes take no room, so editing stays aligned.
        return f"\001\033[1;32m\002{label}\001\033[0m\002 "

    def show(self, text: str) -> None:
        """Output the user asked for (/help, /history): stdout, in both modes."""
        self.io.out(text)

    def notice(self, text: str) -> None:
        """Chatter for a person: stderr, and only on a terminal."""
        if self.interactive:
            self.io.err(text)

    def fail(self, err: DialError) -> None:
        self.failures.append(err)
        self.io.err(f"dial: {err}")

    # -- questions ----------------------------------------------------------------------

    def ask(self, text: str) -> None:
        refs, self.pending_attachments = self.pending_attachments, []
        custom_content = None
        if refs:
            from dialcli import attachments

            try:  # uploaded before the question is sent; a failure sends nothing
                custom_content = {"attachments": attachments.prepare(refs, self._get_backend())}
            except DialError as err:
                self.fail(err)
                return
        request, question = self.session.request(
            text,
            temperature=self.opts.temperature,
            max_tokens=self.opts.max_tokens,
            custom_fields=self._custom_fields(),
            custom_content=custom_content,
        )
        self._exchange(request, question, replace=False)

    def attach(self, ref: str) -> None:
        """Queue a file or URL for the next question (a missing file is reported now)."""
        from dialcli import attachments

        if not attachments.is_url(ref):
            attachments.read_local(ref)
        self.pending_attachments.append(ref)
        self.notice(f"attached {ref} (sent with your next message)")

    def _custom_fields(self) -> dict[str, Any] | None:
        configuration = self.opts.configuration
        return {"configuration": configuration} if configuration else None

    def retry(self) -> None:
        """Ask the last question again; the old answer stays unless a new one arrives."""
        messages = self.session.conversation.messages
        if (
            len(messages) < 2
            or messages[-2].role != Role.USER
            or messages[-1].role != Role.ASSISTANT
        ):
            self.fail(UsageError("nothing to retry yet"))
            return
        last = messages[-2:]
        del messages[-2:]  # the request must not carry the exchange it replaces
        try:
            request, question = self.session.request(
                last[0].content,
                temperature=self.opts.temperature,
                max_tokens=self.opts.max_tokens,
                custom_fields=self._custom_fields(),
                custom_content=last[0].custom_content,
            )
        finally:
            messages.extend(last)
        self._exchange(request, question, replace=True)

    def _exchange(self, request: ChatRequest, question: Message, *, replace: bool) -> None:
        from dialcli.exchange import AnswerInterrupted, Terminated, run_turn

        writer, spinner = self._start_answer()
        try:
            reply = run_turn(
                self._get_backend(),
                request,
                writer,
                stream=self.opts.stream,
                on_delta=self._stage_reporter(spinner),
            )
        except AnswerInterrupted as stop:
            spinner.stop()
            self._end_answer(writer)
            if stop.partial.content:
                self._save(question, stop.partial, replace=replace, interrupted=True)
            if not self.interactive or isinstance(stop.cause, Terminated):
                raise
            self.notice("[interrupted]")
            return
        except DialError as err:
            spinner.stop()
            self._end_answer(writer)
            self.fail(err)
            return
        finally:
            spinner.stop()
        writer.finish()
        self._save(question, reply, replace=replace)
        if reply.custom_content and reply.custom_content.get("attachments"):
            from dialcli import attachments

            try:
                attachments.report(
                    self.io, self._get_backend(), reply.custom_content, self.opts.save_attachments
                )
            except DialError as err:
                self.fail(err)

    def _stage_reporter(self, spinner: Spinner | NoSpinner) -> Callable[[Delta], None] | None:
        if self.opts.stages == "none":
            return None
        from dialcli.stages import StageReporter

        report = StageReporter(self.io.stderr, self.opts.stages)

        def on_delta(delta: Delta) -> None:
            if delta.custom_content and delta.custom_content.get("stages"):
                spinner.stop()  # a stage line must not be drawn over by the spinner
            report(delta)

        return on_delta

    def _get_backend(self) -> Backend:
        # Built on the first question: /help and /exit never pay for it.
        if self._backend is None:
            self._backend = self.opts.make_backend()
        return self._backend

    def _start_answer(self) -> tuple[AnswerWriter, Spinner | NoSpinner]:
        from dialcli.chat.markdown import MarkdownWriter, TerminalWriter
        from dialcli.chat.spinner import NoSpinner, Spinner
        from dialcli.output import AnswerWriter

        if not self.interactive:
            return AnswerWriter(self.io.stdout), NoSpinner()
        label = "\033[1;34mAssistant:\033[0m" if self.color else "Assistant:"
        markdown = self.opts.markdown
        self.io.out(label + ("\n" if markdown else " "))
        spinner: Spinner | NoSpinner = (
            Spinner(self.io.stderr).start() if self.io.stderr_is_tty else NoSpinner()
        )
        kind = MarkdownWriter if markdown else TerminalWriter
        return kind(self.io.stdout, spinner.stop), spinner

    def _end_answer(self, writer: AnswerWriter) -> None:
        from dialcli.output import PipeClosed

        # On a terminal the label always needs its line ended; in a script only text does.
        if self.interactive or writer.written:
            with suppress(PipeClosed):
                writer.finish()

    def _save(
        self, question: Message, reply: Reply, *, replace: bool, interrupted: bool = False
    ) -> None:
        try:
            if replace:
                self.session.replace_last(question, reply, interrupted=interrupted)
            else:
                self.session.record(question, reply, interrupted=interrupted)
        except DialError as err:  # e.g. a full disk: the chat itself can go on
            self.fail(err)

    # -- what the commands change -------------------------------------------------------

    def set_model(self, name: str) -> None:
        model = self.opts.settings.resolve_model(name)
        self.session.conversation.model = model
        self.notice(f"Model: {model}")

    def set_system(self, text: str) -> None:
        self.session.conversation.system = text
        try:
            self.session.rewrite()  # record() follows the file, so it must hold the new prompt
        except DialError as err:
            self.fail(err)
            return
        self.notice("System prompt replaced.")

    def show_history(self) -> None:
        from dialcli.render import transcript

        conversation = self.session.conversation
        if not conversation.messages:
            self.show("(no messages yet)\n")
            return
        self.show(transcript(conversation))

    def new_conversation(self) -> None:
        from dialcli.session import Session

        old = self.session.conversation
        self.session = Session.new(self.session.store, old.model, old.system)
        self.notice("New conversation.")
