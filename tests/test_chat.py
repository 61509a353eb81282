"""`dial chat` in-process: scripted (non-tty) chats, the interactive loop with scripted
input, and the pure parts (command parsing, multi-line input, Markdown block cuts)."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from cli_harness import run_dial

from dialcli.chat.commands import COMMANDS, help_text, parse_command, unescape
from dialcli.chat.lineinput import read_turn
from dialcli.chat.markdown import split_point
from dialcli.cli.chat import DEFAULT_SYSTEM_PROMPT, SYSTEM_QUESTION, ChatOptions, run_chat
from dialcli.config import resolve_settings
from dialcli.output import IOStreams
from dialcli.store import Store


class ScriptedLines:
    """A LineSource from a list: strings are lines, exceptions are raised (Ctrl-C/D)."""

    def __init__(self, items: list[str | BaseException]) -> None:
        self.items = list(items)
        self.prompts: list[str] = []

    def read(self, prompt: str) -> str:
        self.prompts.append(prompt)
        if not self.items:
            raise EOFError
        item = self.items.pop(0)
        if isinstance(item, BaseException):
            raise item
        return item


def chat(*args: str, stdin: str = "", backend: str = "raw") -> tuple[int, str, str]:
    result = run_dial(["chat", "--backend", backend, *args], stdin)
    return result.code, result.stdout, result.stderr


def received(line: str) -> dict:
    """What the inspect deployment answered: the request it got."""
    return json.loads(line)


def stored(home: Path) -> list:
    store = Store(home)
    return [store.load(s.id) for s in store.summaries()]


def home() -> Path:
    return resolve_settings({}).home


# -- scripted chats (stdin is not a terminal) -------------------------------------------

pytestmark_env = pytest.mark.usefixtures("dial_environ")


@pytestmark_env
def test_each_stdin_line_is_one_turn_and_only_answers_reach_stdout(backend_name):
    script = "hello there\nsecond  line 🎉\n"
    code, out, err = chat("-m", "echo", stdin=script, backend=backend_name)
    assert (code, out, err) == (0, script, "")


@pytestmark_env
def test_blank_lines_are_skipped_not_sent():
    code, out, err = chat("-m", "echo", stdin="\none\n   \n\ntwo\n")
    assert (code, out, err) == (0, "one\ntwo\n", "")


@pytestmark_env
def test_model_command_switches_deployment_and_history_travels_along(backend_name):
    script = "first question\n/model inspect\nsecond question\n"
    code, out, err = chat("-m", "echo", "-s", "Be terse.", stdin=script, backend=backend_name)
    assert code == 0, err
    first, second = out.splitlines()
    assert first == "first question"
    assert received(second)["messages"] == [
        {"role": "system", "content": "Be terse."},
        {"role": "user", "content": "first question"},
        {"role": "assistant", "content": "first question"},
        {"role": "user", "content": "second question"},
    ]


@pytestmark_env
def test_default_system_prompt_is_sent_when_none_is_given():
    _code, out, _ = chat("-m", "inspect", stdin="hi\n")
    assert received(out)["messages"][0] == {"role": "system", "content": DEFAULT_SYSTEM_PROMPT}


@pytestmark_env
def test_config_system_prompt_replaces_the_built_in_default(tmp_path, monkeypatch):
    config = tmp_path / "chat-config.toml"
    config.write_text('system = "From config."\n')
    monkeypatch.setenv("DIAL_CONFIG", str(config))
    _code, out, _ = chat("-m", "inspect", stdin="hi\n")
    assert received(out)["messages"][0] == {"role": "system", "content": "From config."}


@pytestmark_env
def test_empty_system_option_sends_no_system_message():
    _code, out, _ = chat("-m", "inspect", "-s", "", stdin="hi\n")
    assert received(out)["messages"] == [{"role": "user", "content": "hi"}]


@pytestmark_env
def test_triple_quote_block_is_one_turn_with_its_newlines():
    _code, out, _ = chat("-m", "inspect", "-s", "", stdin='"""\nline one\n\nline three\n"""\n')
    assert received(out)["messages"] == [{"role": "user", "content": "line one\n\nline three"}]


@pytestmark_env
def test_double_slash_sends_the_text_with_one_slash():
    code, out, _ = chat("-m", "echo", stdin="//etc/hosts is a file\n")
    assert (code, out) == (0, "/etc/hosts is a file\n")


@pytestmark_env
def test_unknown_command_is_reported_never_sent_and_the_chat_goes_on():
    code, out, err = chat("-m", "inspect", "-s", "", stdin="/frobnicate now\nhello\n")
    assert received(out)["messages"] == [{"role": "user", "content": "hello"}]
    assert "dial: unknown command /frobnicate (try /help)" in err.splitlines()
    assert code == 2  # a script learns at the end that one of its inputs failed


@pytestmark_env
def test_failed_request_is_rolled_back_and_the_chat_goes_on(backend_name):
    script = "kept\n/model fail-500\nlost question\n/model inspect\nafter\n"
    code, out, err = chat("-m", "echo", "-s", "", stdin=script, backend=backend_name)
    lines = out.splitlines()
    assert lines[0] == "kept"
    assert [m["content"] for m in received(lines[1])["messages"]] == ["kept", "kept", "after"]
    errors = [line for line in err.splitlines() if line.startswith("dial: ")]
    assert "Internal server error (emulator)" in errors[0]
    assert errors[-1] == "dial: 1 input(s) of the chat failed (see above)"
    assert code == 1
    (conversation,) = stored(home())
    assert "lost question" not in [m.content for m in conversation.messages]


@pytestmark_env
def test_every_exchange_is_saved_in_one_conversation_as_it_completes():
    code, _, _ = chat("-m", "echo", "-s", "Sys", stdin="one\ntwo\n")
    assert code == 0
    (conversation,) = stored(home())
    assert conversation.system == "Sys"
    assert [(m.role, m.content) for m in conversation.messages] == [
        ("user", "one"),
        ("assistant", "one"),
        ("user", "two"),
        ("assistant", "two"),
    ]


@pytestmark_env
def test_no_save_leaves_no_conversation_behind():
    code, out, _ = chat("-m", "echo", "--no-save", stdin="one\n")
    assert (code, out) == (0, "one\n")
    assert stored(home()) == []


@pytestmark_env
def test_continue_resumes_the_latest_conversation_with_its_context(backend_name):
    chat("-m", "echo", "-s", "Remember.", stdin="the code is 42\n", backend=backend_name)
    code, out, err = chat("-c", "-m", "inspect", stdin="what is the code?\n", backend=backend_name)
    assert code == 0, err
    assert [m["content"] for m in received(out)["messages"]] == [
        "Remember.",
        "the code is 42",
        "the code is 42",
        "what is the code?",
    ]
    (conversation,) = stored(home())
    assert len(conversation.messages) == 4


@pytestmark_env
def test_resume_takes_an_id_prefix():
    chat("-m", "echo", "-s", "", stdin="alpha\n")
    chat("-m", "echo", "-s", "", stdin="beta\n")
    alpha = next(c for c in stored(home()) if c.title == "alpha")
    code, out, _ = chat("--resume", alpha.id[:8], "-m", "inspect", stdin="again\n")
    assert code == 0
    assert [m["content"] for m in received(out)["messages"]] == ["alpha", "alpha", "again"]


@pytestmark_env
def test_resume_with_system_or_no_save_is_a_usage_error():
    assert chat("-c", "-s", "x")[0] == 2
    assert chat("-c", "--no-save")[0] == 2
    assert chat("-c", "--resume", "abcd")[0] == 2


@pytestmark_env
def test_retry_replaces_the_last_answer_in_memory_and_on_disk():
    script = "question\n/model inspect\n/retry\n/history\n"
    code, out, err = chat("-m", "echo", "-s", "", stdin=script)
    assert code == 0, err
    lines = out.splitlines()
    # The retried request carries the question once, not the answer it replaces.
    assert received(lines[1])["messages"] == [{"role": "user", "content": "question"}]
    (conversation,) = stored(home())
    assert [m.content for m in conversation.messages] == ["question", lines[1]]
    assert "Assistant: question" not in out  # /history shows the new answer only


@pytestmark_env
def test_failed_retry_keeps_the_old_answer():
    code, out, _err = chat("-m", "echo", "-s", "", stdin="question\n/model fail-500\n/retry\n")
    assert code == 1
    assert out == "question\n"
    (conversation,) = stored(home())
    assert [m.content for m in conversation.messages] == ["question", "question"]


@pytestmark_env
def test_retry_before_any_answer_is_reported():
    code, out, err = chat("-m", "echo", stdin="/retry\n")
    assert (code, out) == (2, "")
    assert "dial: nothing to retry yet" in err


@pytestmark_env
def test_undo_drops_the_last_exchange_from_later_requests_and_from_disk():
    script = "one\ntwo\n/undo\n/model inspect\nthree\n"
    code, out, err = chat("-m", "echo", "-s", "", stdin=script)
    assert code == 0, err
    lines = out.splitlines()
    assert lines[:2] == ["one", "two"]
    # The request after /undo carries "one" and its answer, not "two".
    assert [m["content"] for m in received(lines[2])["messages"]] == ["one", "one", "three"]
    (conversation,) = stored(home())
    assert [m.content for m in conversation.messages] == ["one", "one", "three", lines[2]]


@pytestmark_env
def test_undo_before_any_answer_is_reported():
    code, out, err = chat("-m", "echo", stdin="/undo\n")
    assert (code, out) == (2, "")
    assert "dial: nothing to undo yet" in err


@pytestmark_env
def test_system_command_replaces_the_prompt_for_later_turns_and_on_disk():
    script = "one\n/system Now be formal.\n/model inspect\ntwo\n"
    _code, out, _ = chat("-m", "echo", "-s", "casual", stdin=script)
    assert received(out.splitlines()[1])["messages"][0] == {
        "role": "system",
        "content": "Now be formal.",
    }
    (conversation,) = stored(home())
    assert conversation.system == "Now be formal."


@pytestmark_env
def test_new_command_starts_a_fresh_conversation():
    _code, out, _ = chat("-m", "echo", "-s", "S", stdin="one\n/new\n/model inspect\ntwo\n")
    assert [m["content"] for m in received(out.splitlines()[1])["messages"]] == ["S", "two"]
    assert sorted(c.title for c in stored(home())) == ["one", "two"]


@pytestmark_env
def test_help_and_history_print_to_stdout():
    code, out, _ = chat("-m", "echo", "-s", "", stdin="hello\n/history\n/help\n")
    assert code == 0
    assert "You: hello\n\nAssistant: hello" in out
    for name in ("/help", "/exit", "/model", "/system", "/history", "/retry", "/undo", "/new"):
        assert name in out


@pytestmark_env
def test_exit_command_ends_the_chat_before_later_lines():
    code, out, _ = chat("-m", "echo", stdin="one\n/exit\ntwo\n")
    assert (code, out) == (0, "one\n")


@pytestmark_env
def test_no_stream_gives_the_same_answers():
    code, out, _ = chat("-m", "echo", "--no-stream", stdin="one two\nthree\n")
    assert (code, out) == (0, "one two\nthree\n")


@pytestmark_env
def test_temperature_and_max_tokens_reach_the_server():
    _code, out, _ = chat("-m", "inspect", "-t", "0.5", "--max-tokens", "7", stdin="hi\n")
    got = received(out)
    assert (got["temperature"], got["max_tokens"]) == (0.5, 7)


# -- the interactive loop, with a fake terminal and scripted keys -----------------------


def interactive(
    items: list[str | BaseException], **changes: object
) -> tuple[IOStreams, ScriptedLines]:
    from dialcli.backends import get_backend

    settings = resolve_settings({})
    io = IOStreams.fake(tty=True)
    io.no_color = True  # plain labels and prompts, easy to compare
    lines = ScriptedLines(items)
    fields: dict = dict(
        io=io,
        settings=settings,
        make_backend=lambda: get_backend(settings, io),
        model="echo",
        markdown=False,
        make_lines=lambda: lines,
    )
    fields.update(changes)
    run_chat(ChatOptions(**fields))
    return io, lines


def output(io: IOStreams) -> str:
    return io.stdout.getvalue().decode()  # type: ignore[attr-defined]


@pytestmark_env
def test_terminal_chat_asks_for_the_system_prompt_then_labels_turns():
    io, lines = interactive(["Be kind.", "hello"])
    assert lines.prompts[:2] == [SYSTEM_QUESTION, "You: "]
    assert "Assistant: hello\n" in output(io)
    (conversation,) = stored(home())
    assert conversation.system == "Be kind."


@pytestmark_env
def test_enter_at_the_system_question_takes_the_default():
    interactive(["", "hello"])
    (conversation,) = stored(home())
    assert conversation.system == DEFAULT_SYSTEM_PROMPT


@pytestmark_env
def test_system_option_skips_the_question():
    _, lines = interactive(["hello"], system="Given.")
    assert SYSTEM_QUESTION not in lines.prompts


@pytestmark_env
def test_ctrl_d_at_the_system_question_leaves_quietly():
    io, _ = interactive([EOFError()])
    assert stored(home()) == []
    assert io.stderr.getvalue() == ""  # type: ignore[attr-defined]


@pytestmark_env
def test_one_ctrl_c_at_the_prompt_clears_the_line_and_the_chat_goes_on():
    io, _ = interactive(["", KeyboardInterrupt(), "still here"])
    assert "Ctrl-C again" in io.stderr.getvalue()  # type: ignore[attr-defined]
    assert "Assistant: still here" in output(io)


@pytestmark_env
def test_two_ctrl_c_in_a_row_at_the_prompt_end_the_chat_normally():
    _io, lines = interactive(["", KeyboardInterrupt(), KeyboardInterrupt(), "never read"])
    assert lines.items == ["never read"]


@pytestmark_env
def test_a_line_between_two_ctrl_c_disarms_the_exit():
    _, lines = interactive(["", KeyboardInterrupt(), "hi", KeyboardInterrupt(), "read"])
    assert lines.items == []


@pytestmark_env
def test_failed_request_on_a_terminal_ends_the_label_line_and_reports_one_line():
    io, _ = interactive(["", "/model fail-500", "boom", "/model echo", "fine"])
    assert "Assistant: \nAssistant: fine\n" in output(io)
    errors = io.stderr.getvalue()  # type: ignore[attr-defined]
    assert errors.count("dial: ") == 1
    assert "dial: Internal server error (emulator)" in errors


@pytestmark_env
def test_resuming_on_a_terminal_shows_the_last_exchanges_first():
    chat("-m", "echo", "-s", "", stdin="".join(f"turn {i}\n" for i in range(5)))
    io, lines = interactive(["/exit"], resume_id="last", model="")
    shown = output(io)
    assert "You: turn 4" in shown and "You: turn 2" in shown and "turn 1" not in shown
    assert SYSTEM_QUESTION not in lines.prompts


@pytestmark_env
def test_markdown_renders_on_a_terminal_without_asterisks():
    io, _ = interactive(["", "some **bold** words"], markdown=True)
    text = output(io)
    assert "bold" in text and "**" not in text.split("Assistant:", 1)[1]


@pytestmark_env
def test_rich_markdown_is_imported_only_when_markdown_is_on(dial_env):
    # httpx's own CLI would import rich; dial's main() blocks it, and so does this script.
    script = textwrap.dedent(
        """
        import sys
        sys.modules["httpx._main"] = None
        sys.path.insert(0, {tests!r})
        from test_chat import interactive
        interactive(["", "hello"], markdown={markdown})
        print("rich" in sys.modules)
        """
    )
    tests = str(Path(__file__).parent)
    for markdown, expected in ((False, "False"), (True, "True")):
        code = script.format(tests=tests, markdown=markdown)
        done = subprocess.run(
            [sys.executable, "-c", code], env=dial_env, capture_output=True, text=True
        )
        assert done.stdout.strip().splitlines()[-1] == expected, done.stderr


# -- pure parts -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "parsed"),
    [
        ("/model gpt-4o", ("model", "gpt-4o")),
        ("  /MODEL   gpt-4o  ", ("model", "gpt-4o")),
        ("/system Be brief. Very.", ("system", "Be brief. Very.")),
        ("/exit", ("exit", "")),
        ("/", ("", "")),
        ("hello /model", None),
        ("//not a command", None),
        ("/model x\nmore", None),  # multi-line input is always a message
    ],
)
def test_parse_command(text, parsed):
    assert parse_command(text) == parsed


def test_unescape_drops_one_slash_only_from_double_slash():
    assert unescape("//usr/bin") == "/usr/bin"
    assert unescape("plain") == "plain"


def test_help_lists_every_command():
    text = help_text()
    assert all(f"/{name}" in text for name in COMMANDS)


@pytest.mark.parametrize(
    ("items", "turn"),
    [
        (["one line"], "one line"),
        (['"""', "a", "", "b", '"""'], "a\n\nb"),
        (['"""', "unclosed"], "unclosed"),  # EOF inside a block sends it
    ],
)
def test_read_turn(items, turn):
    assert read_turn(ScriptedLines(items), "You: ", "... ") == turn


@pytest.mark.parametrize(
    ("text", "cut"),
    [
        ("para one\n\npara", len("para one\n\n")),
        ("para one\n\n", 0),  # the next block's first character has not arrived
        ("```\ncode\n\nmore\n", 0),  # inside a fence: never cut
        ("```\ncode\n```\n\nafter", len("```\ncode\n```\n\n")),
        ("- item\n\n  continued", 0),  # an indented line may continue the item
        ("a\n\nb\n\nc", len("a\n\nb\n\n")),
    ],
)
def test_markdown_blocks_are_cut_only_where_rendering_is_unchanged(text, cut):
    assert split_point(text, 0) == cut
