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
from dataclasses import dataclass
from typing import TYPE_CHECKING

from dialcli.chat.commands import COMMANDS, STOP, parse_command, unescape
from dialcli.chat.lineinput import LineSource, read_turn
from dialcli.errors import DialError, UsageError

if TYPE_CHECKING:
    from dialcli.backends.base import Backend, Reply
    from dialcli.chat.spinner import NoSpinner, Spinner
    from dialcli.config import Settings
    from dialcli.conversation import Message
    from dialcli.output import AnswerWriter, IOStreams
    from dialcli.session import Session
    from dialcli.turn import TurnOptions

INTERRUPT_HINT = "(Ctrl-C again or Ctrl-D to exit)"


@dataclass(frozen=True)
class ChatConfig:
    """What the loop needs from the command line, decided before it starts."""

    io: IOStreams
    make_backend: Callable[[], Backend]
    resolve_model: Callable[[str], str]  # a name or alias from /model, as a deployment id
    turn: TurnOptions
    markdown: bool  # render answers as Markdown (only ever on a terminal)
    settings: Settings | None = None  # for prices: /usage and -u
    # The listed deployment ids (the model cache; [] when unknown): /model's check,
    # close names on a 404, and Tab after /model.
    known_models: Callable[[], list[str]] = list


class ChatLoop:
    def __init__(
        self, config: ChatConfig, session: Session, lines: LineSource, *, interactive: bool
    ) -> None:
        self.config = config
        self.io = config.io
        self.session = session
        self.lines = lines
        self.interactive = interactive
        self.color = interactive and not config.io.no_color
        self.failures: list[DialError] = []
        self.pending_attachments: list[str] = []  # /attach: sent with the next question
        self.failed: Message | None = None  # a question whose request failed: /retry asks it
        self._backend: Backend | None = None
        self._spinner: Spinner | NoSpinner | None = None  # of the answer last asked for

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
                self.stop_spinner()  # never drawn over a prompt, whatever happened before
                text = read_turn(self.lines, self._prompt("You:"), "... ")
            except EOFError:
                if self.interactive:
                    self.io.out("\n")  # the shell's prompt starts on a fresh line
                return
            except KeyboardInterrupt:
                if not self.interactive:
                    raise
                if self._ctrl_c_at_prompt(armed):
                    return
                armed = True
                continue
            armed = False
            try:
                if self.handle(text) == STOP:
                    return
            except KeyboardInterrupt:
                # Between answer and prompt (saving, rendering): drop it, keep chatting.
                if not self.interactive:
                    raise
                with suppress(KeyboardInterrupt):  # a second one changes nothing
                    self.io.out("\n")
                    self.notice("[interrupted]")

    def _ctrl_c_at_prompt(self, armed: bool) -> bool:
        """After a Ctrl-C at the prompt: True to end the chat (the second in a row)."""
        try:
            self.io.out("\n")
            if armed:
                return True
            self.notice(INTERRUPT_HINT)
        except KeyboardInterrupt:  # the second arrived before the hint was out
            return True
        return False

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
        from dialcli.conversation import Message, Role
        from dialcli.turn import attachments_in

        refs, self.pending_attachments = self.pending_attachments, []
        try:  # uploaded before the question is sent; a failure sends nothing
            custom_content = attachments_in(refs, self._get_backend()) if refs else None
        except DialError as err:
            self.fail(err)
            return
        self._exchange(Message(Role.USER, text, custom_content=custom_content), replace=False)

    def attach(self, ref: str) -> None:
        """Queue a file or URL for the next question (a missing file is reported now)."""
        from dialcli import attachments

        if not attachments.is_url(ref):
            attachments.read_local(ref)
        self.pending_attachments.append(ref)
        self.notice(f"attached {ref} (sent with your next message)")

    def retry(self) -> None:
        """Ask again the question that just failed, else the last question; the old
        answer stays unless a new one arrives."""
        if self.failed is not None:
            question, self.failed = self.failed, None
            self._exchange(question, replace=False)
            return
        self._exchange(self.session.last_question(), replace=True)

    def edit(self) -> None:
        """/edit: the last question in $VISUAL/$EDITOR, asked again in place of the last
        exchange (or, after a failed request, in place of the question that failed)."""
        from dialcli.chat.tools import edit_text
        from dialcli.conversation import Message, Role

        failed = self.failed
        old = failed if failed is not None else self.session.last_question()
        text = edit_text(old.text).rstrip()
        if not text.strip():
            self.notice("Empty question: nothing asked.")
            return
        if text == old.text.rstrip():
            self.notice("Unchanged: nothing asked (/retry asks it again).")
            return
        question = Message(Role.USER, text, custom_content=old.custom_content)
        self.failed = None
        self._exchange(question, replace=failed is None)

    def copy(self) -> None:
        """/copy: the last answer to the clipboard."""
        from dialcli.chat.tools import copy_to_clipboard

        text = self.session.last_answer()
        tool = copy_to_clipboard(text)
        self.notice(f"Copied the last answer ({len(text)} characters) with {tool}.")

    def rename(self, title: str) -> None:
        self.session.rename(title)
        self.notice(f"Saved as: {title}")

    def _exchange(self, question: Message, *, replace: bool) -> None:
        from dialcli.chat.interrupts import interrupts_deferred
        from dialcli.turn import AnswerInterrupted, exchange, stage_reporter

        spinner = self._new_spinner()  # made before anything can be interrupted
        writer: AnswerWriter | None = None
        turn = self.config.turn
        try:
            with interrupts_deferred():  # imports happen here: never cut one in half
                writer = self._start_answer(spinner)
                backend = self._get_backend()
            reply = exchange(
                self.session,
                backend,
                question,
                turn,
                writer,
                # a stage line must not be drawn over by the spinner
                on_delta=stage_reporter(self.io, turn.stages, before=spinner.stop),
                replace=replace,
                end_always=self.interactive,  # the label's line always needs ending
                keep_unanswered=self.interactive,
            )
        except AnswerInterrupted as stop:
            if not self.interactive or stop.ends_the_program:
                raise
            if not replace:
                self.failed = None  # the question was saved with what arrived
            self._interrupted(bool(stop.partial.content))
            return
        except KeyboardInterrupt:
            # Before the request went out (label, spinner, building the backend).
            if not self.interactive:
                raise
            self._keep_unanswered(question, writer, replace=replace)
            return
        except DialError as err:  # a failed request (or save) ends the turn, not the chat
            self._failed_request(question, err, replace=replace)
            return
        finally:
            spinner.stop()
        self.failed = None
        self._finish_answer(reply)

    def _failed_request(self, question: Message, err: DialError, *, replace: bool) -> None:
        """Report it; a new question is kept in memory (not saved) for /retry and /edit."""
        from dialcli import model_cache

        if err.status == 404:
            hint = model_cache.did_you_mean(self.session.model, self.config.known_models())
            if hint:
                err.message = f"{err.message}; {hint}"
        self.fail(err)
        if not replace:
            self.failed = question
            self.notice("(not saved; /retry asks it again, /edit changes it first)")

    def _keep_unanswered(
        self, question: Message, writer: AnswerWriter | None, *, replace: bool
    ) -> None:
        """A Ctrl-C before the request was sent: the question is saved, unanswered."""
        from dialcli.backends.base import Reply
        from dialcli.turn import end_answer

        if writer is not None:
            end_answer(writer, always=True)
        else:
            self.io.out("\n")
        if not replace:  # a /retry keeps the answer it would have replaced
            try:
                self.session.record(question, Reply(model=self.session.model), interrupted=True)
                self.failed = None
            except DialError as err:
                self.fail(err)
        self._interrupted(False)

    def _interrupted(self, partial: bool) -> None:
        if partial:
            self.notice("[interrupted]")
        else:
            self.notice("[interrupted before the answer; /retry asks again]")

    def _finish_answer(self, reply: Reply) -> None:
        from dialcli.turn import attachments_out, report_finish

        try:
            self._after_answer(reply)
            attachments_out(self.io, self._get_backend(), reply, self.config.turn.save_attachments)
            report_finish(self.io, reply)
        except DialError as err:
            self.fail(err)

    def _after_answer(self, reply: Reply) -> None:
        """Dropped turns (always) and, with -u, the answer's usage line, on stderr."""
        from dialcli.answer_notes import after_answer

        settings = self.config.settings
        if settings is not None:
            turn = self.config.turn
            after_answer(
                self.io,
                settings,
                self._get_backend(),
                reply,
                max_prompt_tokens=turn.max_prompt_tokens,
                show_usage=turn.show_usage,
            )

    def show_usage(self) -> None:
        """/usage: the last answer's usage and the conversation's total."""
        from dialcli import model_cache
        from dialcli.usage_report import conversation_usage

        settings = self.config.settings
        prices = model_cache.prices(settings) if settings is not None else {}
        self.show(conversation_usage(self.session.conversation, prices))

    def _get_backend(self) -> Backend:
        # Built on the first question: /help and /exit never pay for it.
        if self._backend is None:
            self._backend = self.config.make_backend()
        return self._backend

    def _new_spinner(self) -> Spinner | NoSpinner:
        """Not started yet; the prompt stops it too, whatever interrupted the answer."""
        from dialcli.chat.spinner import NoSpinner, Spinner

        spinner: Spinner | NoSpinner = NoSpinner()
        if self.interactive and self.io.stderr_is_tty:
            spinner = Spinner(self.io.stderr)
        self._spinner = spinner
        return spinner

    def stop_spinner(self) -> None:
        if self._spinner is not None:
            self._spinner.stop()

    def _start_answer(self, spinner: Spinner | NoSpinner) -> AnswerWriter:
        """Show the label and start the spinner; the writer for the answer."""
        from dialcli.chat.markdown import MarkdownWriter, TerminalWriter
        from dialcli.output import AnswerWriter

        if not self.interactive:
            return AnswerWriter(self.io.stdout)
        label = "\033[1;34mAssistant:\033[0m" if self.color else "Assistant:"
        markdown = self.config.markdown
        self.io.out(label + ("\n" if markdown else " "))
        spinner.start()
        kind = MarkdownWriter if markdown else TerminalWriter
        return kind(self.io.stdout, spinner.stop)

    # -- what the commands change -------------------------------------------------------

    def set_model(self, name: str) -> None:
        """/model NAME: used from the next question on; a name the listing lacks is
        warned about (the listing may be stale, so it is still used)."""
        from dialcli import model_cache

        model = self.config.resolve_model(name)
        self.session.set_model(model)
        self.notice(f"Model: {model}")
        if not self.interactive:
            return  # the warning is for a person: a script pays for no listing
        known = self.config.known_models()
        if known and model not in known:
            hint = model_cache.did_you_mean(model, known) or "see 'dial models'"
            self.notice(f"dial: warning: {model!r} is not in the model listing; {hint}")

    def set_system(self, text: str) -> None:
        try:
            self.session.set_system(text)
        except DialError as err:
            self.fail(err)
            return
        self.notice("System prompt replaced.")

    def undo(self) -> None:
        self.session.undo()
        self.notice("Last exchange removed.")

    def show_history(self) -> None:
        from dialcli.render import transcript

        if self.session.is_empty:
            self.show("(no messages yet)\n")
            return
        self.show(transcript(self.session.conversation))

    def new_conversation(self) -> None:
        self.session = self.session.start_new()
        self.notice("New conversation.")
