"""The floor for a Python client: import httpx, stream one chat completion, print it.

The least a Python program can do for the same reply: no CLI framework, no config,
no error mapping. Each token is written and flushed as it arrives, like ``dial ask``.

    echo hi | python benchmarks/floor_httpx.py URL KEY MODEL
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
