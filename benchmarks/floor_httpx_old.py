"""The floor earlier versions of docs/benchmarks.md used, kept to show what changed.

It does more work than ``dial ask``: ``import httpx`` also imports httpx's command-line
module (and with it click, rich and pygments when installed), the client loads the CA
bundle even for plain http, and every token is written and flushed on its own, where
dial writes once per network read. Compare with ``floor_httpx.py`` (the fair floor).

    echo hi | python benchmarks/floor_httpx_old.py URL KEY MODEL
"""

import json
import sys

import httpx


def main() -> int:
    url, key, model = sys.argv[1:4]
    prompt = sys.stdin.read()
    body = {"messages": [{"role": "user", "content": prompt}], "stream": True}
    out = sys.stdout.buffer
    with httpx.stream(
        "POST",
        f"{url}/openai/deployments/{model}/chat/completions",
        params={"api-version": "2024-02-01"},
        headers={"Api-Key": key},
        json=body,
        timeout=60,
    ) as response:
        response.raise_for_status()
        for line in response.iter_lines():
            if not line.startswith("data: ") or line == "data: [DONE]":
                continue
            for choice in json.loads(line[6:]).get("choices") or ():
                text = (choice.get("delta") or {}).get("content")
                if text:
                    out.write(text.encode())
                    out.flush()
    out.write(b"\n")
    out.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
