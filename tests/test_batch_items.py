"""Reading batch items: JSON Lines, CSV and plain lines; a bad line is that item's error."""

from __future__ import annotations

import io

import pytest

from dialcli.batch.items import Recipe, detect_format, read_items


def items(text: str, fmt: str, **recipe):
    return list(read_items(io.BytesIO(text.encode()), fmt, Recipe(**recipe)))


def user_text(item) -> str:
    return item.messages[-1]["content"]


def test_jsonl_prompt_field_is_sent_and_ids_default_to_line_numbers():
    got = items('{"prompt": "hi"}\n\n{"prompt": "there", "id": "t-2"}\n', "jsonl")
    assert [(i.seq, i.id, user_text(i), i.error) for i in got] == [
        (0, 1, "hi", None),
        (1, "t-2", "there", None),
    ]


def test_jsonl_messages_field_is_sent_as_is_and_the_system_prompt_goes_first():
    line = '{"messages": [{"role": "user", "content": "a"}, {"role": "assistant", "content": "b"}]}'
    [item] = items(line + "\n", "jsonl", system="be brief")
    assert item.messages == [
        {"role": "system", "content": "be brief"},
        {"role": "user", "content": "a"},
        {"role": "assistant", "content": "b"},
    ]


@pytest.mark.parametrize(
    ("line", "error"),
    [
        ("{not json", "line 2: invalid JSON"),
        ("[1, 2]", "line 2: not a JSON object"),
        ('{"text": "no prompt"}', "line 2: no 'prompt' or 'messages' field"),
        ('{"messages": []}', "line 2: 'messages' must be a non-empty list"),
        ('{"messages": ["hi"]}', "line 2: each of 'messages' must be an object"),
    ],
)
def test_a_bad_jsonl_line_is_that_items_error_and_reading_goes_on(line, error):
    got = items(f'{{"prompt": "ok"}}\n{line}\n{{"prompt": "after"}}\n', "jsonl")
    assert [i.error is None for i in got] == [True, False, True]
    assert got[1].error.startswith(error)
    assert got[1].messages is None
    assert user_text(got[2]) == "after"


def test_csv_rows_fill_the_template_and_a_missing_field_fails_only_that_row():
    text = "\ufeffname,tone\nAda,warm\nBob,\n"
    got = items(text, "csv", template="Greet {{name}} ({{tone}})")
    assert user_text(got[0]) == "Greet Ada (warm)"
    assert got[0].id == 2  # the header is line 1
    assert got[0].fields == {"name": "Ada", "tone": "warm"}
    assert got[1].error is None and user_text(got[1]) == "Greet Bob ()"
    got = items("name\nAda\n", "csv", template="{{name}} is {{mood}}")
    assert got[0].error == "line 2: no value for template field 'mood'"


def test_csv_quoted_cells_may_span_lines():
    got = items('id,text\n1,"two\nlines"\n2,short\n', "csv", template="{{text}}")
    assert [(i.id, user_text(i)) for i in got] == [("1", "two\nlines"), ("2", "short")]


def test_plain_lines_are_prompts_and_fill_line_in_a_template():
    assert [user_text(i) for i in items("a b\n\nc\n", "lines")] == ["a b", "c"]
    got = items("x\n", "lines", template="Say {{line}}")
    assert (user_text(got[0]), got[0].fields) == ("Say x", {"line": "x"})


def test_attachments_go_on_the_last_message():
    attachment = {"type": "text/plain", "url": "files/b/x.txt", "title": "x.txt"}
    [item] = items("q\n", "lines", attachments=[attachment])
    assert item.messages[-1]["custom_content"] == {"attachments": [attachment]}


@pytest.mark.parametrize(
    ("name", "first", "fmt"),
    [
        ("t.csv", b'{"a": 1}', "csv"),
        ("t.jsonl", b"a,b", "jsonl"),
        (None, b'  {"prompt": 1}', "jsonl"),
        (None, b"name,text", "csv"),
    ],
)
def test_format_comes_from_the_file_name_then_the_first_line(name, first, fmt):
    assert detect_format(name, first) == fmt
