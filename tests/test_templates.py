"""Templates: the file format, rendering rules, and `-t`/`-p`/`--save` on ask and chat."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import pytest
from cli_harness import run_dial

from dialcli.errors import UsageError
from dialcli.templates import STARTER, Template, compose, dumps, from_mapping

pytestmark = pytest.mark.usefixtures("dial_environ")

TRANSLATE = """\
description = "Translate text"
model = "inspect"
system = "You are a careful translator."
temperature = 0.3
max_tokens = 50
prompt = "Translate {{text}} to {{lang|French}}."

[configuration]
style = "formal"
"""


@pytest.fixture
def templates(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """templates/ beside a config.toml that dial reads."""
    config = tmp_path / "cfg" / "config.toml"
    config.parent.mkdir()
    config.write_text("")
    monkeypatch.setenv("DIAL_CONFIG", str(config))
    folder = config.parent / "templates"
    folder.mkdir()
    (folder / "translate.toml").write_text(TRANSLATE)
    return folder


def sent(result) -> dict:
    assert result.code == 0, result.stderr
    return json.loads(result.stdout)


# -- the file format and rendering (pure) ------------------------------------------


def test_dumps_reads_back_the_same_template():
    template = Template(
        name="work/review",
        prompt="Line one\n{{code}}\n\tand 'quotes' \"too\"\n",
        description="Review \\ code",
        model="gpt-4o",
        system="ctrl \x01 char",
        temperature=0.25,
        max_tokens=9,
        configuration={"a b": 1, "nested": {"list": [1, "two", True]}},
    )
    data = tomllib.loads(dumps(template))
    assert from_mapping("work/review", data, "x") == template


def test_the_starter_file_is_a_valid_template():
    assert from_mapping("new", tomllib.loads(STARTER), "x").prompt == "{{input}}"


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"promt": "x"}, "unknown key 'promt'"),
        ({"temperature": 3}, "temperature must be a number from 0 to 2"),
        ({"temperature": True}, "temperature must be a number from 0 to 2"),
        ({"max_tokens": 0}, "max_tokens must be a whole number"),
        ({"model": 4}, "model must be a string"),
        ({"configuration": "x"}, "configuration must be a table"),
    ],
)
def test_a_bad_template_file_is_a_usage_error_naming_it(data, message):
    with pytest.raises(UsageError, match=message):
        from_mapping("t", data, "/cfg/templates/t.toml")


@pytest.mark.parametrize(
    ("prompt", "params", "stdin", "expected"),
    [
        ("Translate {{text}} to {{lang|French}}", {"text": "hi"}, None, "Translate hi to French"),
        (
            "Translate {{text}} to {{lang|French}}",
            {"text": "hi", "lang": "German"},
            None,
            "Translate hi to German",
        ),
        ("Summarise:\n{{input}}", {}, "piped text", "Summarise:\npiped text"),
        ("Summarise this.", {}, "piped text", "piped text\n\nSummarise this."),
        ("", {}, "only stdin", "only stdin"),
        ("{{ spaced | default one }}", {}, None, "default one"),
        ("{{input}}", {"input": "from -p"}, "ignored stdin", "from -p"),
    ],
)
def test_compose_fills_fields_and_places_stdin(prompt, params, stdin, expected):
    assert compose(Template("t", prompt=prompt), params, stdin) == expected


def test_compose_names_the_missing_field_and_a_typo():
    with pytest.raises(UsageError, match=r"needs a value for \{\{text\}\}: add -p text VALUE"):
        compose(Template("t", prompt="{{text}} {{lang|fr}}"), {}, None)
    with pytest.raises(UsageError, match=r"has no field 'txt' \(its fields: lang, text\)"):
        compose(Template("t", prompt="{{text}} {{lang|fr}}"), {"txt": "x"}, None)
    with pytest.raises(UsageError, match="pipe it on stdin"):
        compose(Template("t", prompt="{{input}}"), {}, None)


# -- ask and chat with a local template ------------------------------------------------


def test_a_local_template_sets_system_model_and_settings(templates, backend_name):
    body = sent(run_dial(["ask", "--backend", backend_name, "-t", "translate", "-p", "text", "hi"]))
    assert body["messages"] == [
        {"role": "system", "content": "You are a careful translator."},
        {"role": "user", "content": "Translate hi to French."},
    ]
    assert (body["temperature"], body["max_tokens"]) == (0.3, 50)
    assert body["custom_fields"] == {"configuration": {"style": "formal"}}


def test_flags_override_the_template(templates, backend_name):
    args = ["ask", "--backend", backend_name, "-t", "translate", "-p", "text", "hi"]
    args += ["-p", "lang", "Spanish", "-s", "Be terse.", "--temperature", "1", "--max-tokens", "7"]
    body = sent(run_dial(args))
    assert body["messages"][0] == {"role": "system", "content": "Be terse."}
    assert body["messages"][1]["content"] == "Translate hi to Spanish."
    assert (body["temperature"], body["max_tokens"]) == (1.0, 7)
    echoed = run_dial(
        ["ask", "--backend", backend_name, "-t", "translate", "-p", "text", "hi", "-m", "echo"]
    )
    assert (echoed.code, echoed.stdout) == (0, "Translate hi to French.\n")


def test_a_missing_field_exits_2_naming_it(templates):
    result = run_dial(["ask", "-t", "translate"])
    assert result.code == 2
    assert result.stderr == (
        "dial: template 'translate' needs a value for {{text}}: add -p text VALUE\n"
    )


def test_input_comes_from_piped_stdin(templates, backend_name):
    (templates / "sum.toml").write_text('model = "inspect"\nprompt = "Summarise:\\n{{input}}"\n')
    body = sent(run_dial(["ask", "--backend", backend_name, "-t", "sum"], stdin="a file\n"))
    assert body["messages"][-1]["content"] == "Summarise:\na file"


def test_stdin_is_joined_before_a_prompt_without_input(templates):
    body = sent(run_dial(["ask", "-t", "translate", "-p", "text", "x"], stdin="context\n"))
    assert body["messages"][-1]["content"] == "context\n\nTranslate x to French."


def test_an_unknown_template_exits_4_and_hints_at_temperature(templates):
    result = run_dial(["ask", "-t", "0.5", "hi"])
    assert result.code == 4
    assert "no template '0.5'" in result.stderr and "--temperature" in result.stderr


def test_a_broken_template_file_exits_2_naming_the_file(templates):
    (templates / "bad.toml").write_text("prompt = 'unterminated\n")
    result = run_dial(["ask", "-t", "bad"])
    assert result.code == 2 and "bad.toml: invalid TOML" in result.stderr


def test_a_local_template_is_read_without_the_network(templates, monkeypatch):
    monkeypatch.setenv("DIAL_URL", "http://127.0.0.1:9")  # nothing listens there
    shown = run_dial(["templates", "show", "translate"])
    assert (shown.code, shown.stdout) == (
        0,
        TRANSLATE,
    )
    listed = run_dial(["templates", "list"])
    assert listed.stdout == "translate\tTranslate text\n"


def test_save_writes_a_template_that_ask_then_uses(templates, backend_name):
    saved = run_dial(
        [
            "ask",
            "--save",
            "brief",
            "-m",
            "inspect",
            "-s",
            "Be brief.",
            "--temperature",
            "0.1",
            "Summarise {{input}}",
        ]
    )
    assert saved.code == 0 and saved.stdout == ""
    assert "Saved template brief" in saved.stderr
    assert tomllib.loads((templates / "brief.toml").read_text()) == {
        "model": "inspect",
        "system": "Be brief.",
        "temperature": 0.1,
        "prompt": "Summarise {{input}}",
    }
    body = sent(run_dial(["ask", "--backend", backend_name, "-t", "brief"], stdin="the text"))
    assert body["messages"] == [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "Summarise the text"},
    ]


def test_save_from_a_template_keeps_its_settings_under_the_flags(templates):
    run_dial(["ask", "-t", "translate", "--save", "translate-hot", "--temperature", "1.5"])
    data = tomllib.loads((templates / "translate-hot.toml").read_text())
    assert data["temperature"] == 1.5
    assert data["system"] == "You are a careful translator."
    assert data["prompt"] == "Translate {{text}} to {{lang|French}}."


def test_chat_uses_the_template_and_sends_its_prompt_first(templates, backend_name):
    result = run_dial(
        ["chat", "--backend", backend_name, "-t", "translate", "-p", "text", "hi", "-m", "echo"],
        stdin="second\n",
    )
    assert (result.code, result.stdout) == (0, "Translate hi to French.\nsecond\n")
    shown = run_dial(["history", "show", "last", "--json"])
    conv = json.loads(shown.stdout)
    assert conv["system"] == "You are a careful translator."


def test_templates_delete_removes_the_file(templates):
    assert run_dial(["templates", "delete", "translate"]).code == 0
    assert not (templates / "translate.toml").exists()
    again = run_dial(["templates", "delete", "translate"])
    assert again.code == 4


def test_templates_edit_creates_the_file_with_the_editor(templates, monkeypatch, tmp_path):
    editor = tmp_path / "editor.sh"
    editor.write_text('#!/bin/sh\nprintf \'model = "echo"\\nprompt = "Hi {{who}}"\\n\' > "$1"\n')
    editor.chmod(0o755)
    monkeypatch.setenv("EDITOR", str(editor))
    monkeypatch.delenv("VISUAL", raising=False)
    assert run_dial(["templates", "edit", "work/hello"]).code == 0
    result = run_dial(["ask", "-t", "work/hello", "-p", "who", "you"])
    assert (result.code, result.stdout) == (0, "Hi you\n")


def test_templates_edit_reports_a_broken_file(templates, monkeypatch, tmp_path):
    editor = tmp_path / "editor.sh"
    editor.write_text('#!/bin/sh\necho \'temperature = "hot"\' > "$1"\n')
    editor.chmod(0o755)
    monkeypatch.setenv("EDITOR", str(editor))
    result = run_dial(["templates", "edit", "broken"])
    assert result.code == 2 and "temperature must be a number" in result.stderr


@pytest.mark.parametrize("name", ["../escape", ".hidden", "a//b", "x:y"])
def test_template_names_that_escape_or_dial_refuses_exit_2(templates, name):
    result = run_dial(["templates", "show", name])
    assert result.code == 2 and "invalid template name" in result.stderr


def test_an_unknown_template_offline_exits_4_saying_dial_was_not_reached(templates, monkeypatch):
    monkeypatch.setenv("DIAL_URL", "http://127.0.0.1:9")  # nothing listens there
    result = run_dial(["ask", "-t", "typo", "--retries", "0", "hi"])
    assert result.code == 4
    assert "no template 'typo' in" in result.stderr
    assert "DIAL prompts could not be asked: cannot reach DIAL" in result.stderr


def test_templates_alone_lists_like_templates_list(dial_environ):
    import os

    folder = Path(os.environ["DIAL_CONFIG"]).parent / "templates"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "review.toml").write_text('prompt = "Review {{input}}"\n')
    alone = run_dial(["templates"])
    assert alone.code == 0 and "review" in alone.stdout
    assert alone.stdout == run_dial(["templates", "list"]).stdout
