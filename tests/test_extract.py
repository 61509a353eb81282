"""-x/--extract: fenced code blocks taken out of real-looking answers."""

from __future__ import annotations

import pytest

from dialcli.extract import code_blocks, extract

PYTHON_ANSWER = """Here is a function that reverses a string:

```python
def reverse(text: str) -> str:
    return text[::-1]
```

You can call it as `reverse("abc")`, which gives `"cba"`.
"""

NO_LANGUAGE = """Run this:

```
ls -la | sort -k5 -n
```
"""

CPP_AND_SHELL = """Compile the program:

```c++
#include <iostream>
int main() { std::cout << "hi\\n"; }
```

Then build it with:

```sh title="build.sh"
g++ -O2 main.cpp -o main && ./main
```
"""

TILDES = """~~~bash
echo "tilde fence"
~~~
"""

NESTED_BACKTICKS = """To document a code block in Markdown, wrap it in four backticks:

````markdown
Some text

```python
print("inner")
```
````

That renders the inner fence literally.
"""

INLINE_ONLY = """Use `git rebase -i HEAD~3`, or ```git reset --soft HEAD~3``` if you prefer.
No block here."""

NO_CODE = """The capital of France is Paris. It has been the capital since 987 AD,
with a few interruptions."""

LIST_ITEM = """Steps:

1. Install the package:

    ```bash
    pip install dial-cli
    ```

2. Run it:

    ```bash
    dial ask "hello"
    ```
"""

UNCLOSED = """Here is the start of the script:

```python
import sys
print(sys.argv)"""

TILDE_WITH_BACKTICKS_INSIDE = """~~~
a line with ``` inside
```
~~~
"""

LONGER_CLOSING = """```json
{"a": 1}
`````
after
"""

EMPTY_BLOCK = """An empty block:

```
```
and text."""

CRLF_FREE_SQL = """Query:
```sql
SELECT id, name
  FROM users
 WHERE active;
```
Result is a list of ids."""

CASES = [
    (PYTHON_ANSWER, "def reverse(text: str) -> str:\n    return text[::-1]", None),
    (NO_LANGUAGE, "ls -la | sort -k5 -n", None),
    (
        CPP_AND_SHELL,
        '#include <iostream>\nint main() { std::cout << "hi\\n"; }',
        "g++ -O2 main.cpp -o main && ./main",
    ),
    (TILDES, 'echo "tilde fence"', None),
    (NESTED_BACKTICKS, 'Some text\n\n```python\nprint("inner")\n```', None),
    (INLINE_ONLY, None, None),
    (NO_CODE, None, None),
    (LIST_ITEM, "pip install dial-cli", 'dial ask "hello"'),
    (UNCLOSED, "import sys\nprint(sys.argv)", None),
    (TILDE_WITH_BACKTICKS_INSIDE, "a line with ``` inside\n```", None),
    (LONGER_CLOSING, '{"a": 1}', None),
    (EMPTY_BLOCK, "", None),
    (CRLF_FREE_SQL, "SELECT id, name\n  FROM users\n WHERE active;", None),
]


@pytest.mark.parametrize(("answer", "first", "last"), CASES)
def test_extract_takes_the_first_and_last_fenced_block(
    answer: str, first: str | None, last: str | None
) -> None:
    assert extract(answer) == first
    assert extract(answer, last=True) == (last if last is not None else first)


def test_every_block_is_found_in_order() -> None:
    assert code_blocks(CPP_AND_SHELL + "\n" + TILDES) == [
        '#include <iostream>\nint main() { std::cout << "hi\\n"; }',
        "g++ -O2 main.cpp -o main && ./main",
        'echo "tilde fence"',
    ]


def test_a_tilde_fence_is_not_closed_by_backticks() -> None:
    assert code_blocks("~~~\nx\n```\ny\n~~~\n") == ["x\n```\ny"]
