"""{{var|default}} rendering: DIAL Chat's placeholder syntax, pure functions."""

from __future__ import annotations

import pytest

from dialcli.templating import MissingVariables, Variable, render, variables


@pytest.mark.parametrize(
    ("template", "values", "expected"),
    [
        (
            "Classify: {{text}}",
            {"text": "my printer is on fire"},
            "Classify: my printer is on fire",
        ),
        ("{{a}} and {{b}}", {"a": "x", "b": "y"}, "x and y"),
        ("{{ text }}", {"text": "spaces around the name"}, "spaces around the name"),
        ("Tone: {{tone|neutral}}", {}, "Tone: neutral"),
        ("Tone: {{tone| very formal }}", {}, "Tone: very formal"),
        ("Tone: {{tone|neutral}}", {"tone": "angry"}, "Tone: angry"),
        ("{{tone|}}!", {}, "!"),
        ("{{n}} items", {"n": 3}, "3 items"),
        ("{{tags}}", {"tags": ["a", "b"]}, '["a", "b"]'),
        ("{{x|fallback}}", {"x": None}, "fallback"),
        ("{{a|b|c}}", {}, "b|c"),
        ("no placeholders {single}", {}, "no placeholders {single}"),
        ("{{text}} {{text}}", {"text": "twice"}, "twice twice"),
        ("{{text}}", {"text": "{{not expanded}}"}, "{{not expanded}}"),
        ("{{emoji}}", {"emoji": "🎉 世界"}, "🎉 世界"),
    ],
)
def test_render_replaces_each_placeholder(template, values, expected):
    assert render(template, values) == expected


def test_every_missing_required_field_is_named_once():
    with pytest.raises(MissingVariables) as caught:
        render("{{a}} {{b|ok}} {{c}} {{a}}", {})
    assert caught.value.names == ["a", "c"]
    assert str(caught.value) == "no value for template fields 'a', 'c'"


def test_variables_are_listed_once_in_first_seen_order_with_defaults():
    assert variables("{{b}} {{a|x}} {{b|y}} {{ c }}") == [
        Variable("b"),
        Variable("a", "x"),
        Variable("c"),
    ]


def test_a_default_does_not_run_across_lines():
    # As in DIAL Chat: '.' in the default part does not match a newline, so this is
    # no placeholder at all and stays as text.
    assert variables("{{a|x\n}}") == []
    assert render("{{a|x\n}}", {}) == "{{a|x\n}}"
