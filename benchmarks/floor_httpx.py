"""The floor for a Python client: import httpx, stream one chat completion, print it.

The least a Python program can do for the same reply, doing the same work as
``dial ask`` and no more: no CLI framework, no config, no error mapping. Where dial
saves work, the floor saves it too, so that the comparison is fair:

- httpx's command-line module is not imported (``import httpx`` would load it, and
  with it click, rich and pygments, when they are installed); dial blocks it the same way;
- the CA bundle is loaded only when TLS can happen (not for plain http);
- the answer is written and flushed once per network read, not once per token;
- chunks are parsed with orjson, as dial does.

    echo hi | python benchmarks/floor_httpx.py URL KEY MODEL
"""

import sys

sys.modules.setdefault("httpx._main", None)  # type: ignore[arg-type]  # None blocks it

import httpx  # noqa: E402
from orjson import dumps, loads  # noqa: E402

DATA = b"data: "
DONE = b"data: [DONE]"


def texts(lines: list[bytes]) -> list[str]:
    """The content of each ``data:`` event among ``lines``."""
    found = []
    for line in lines:
        line = line.rstrip(b"\r")
        if not line.startswith(DATA) or line == DONE:
            continue
        for choice in loads(line[6:]).get("choices") or ():
            text = (choice.get("delta") or {}).get("content")
            if text:
                found.append(text)
    return found


def main() -> int:
    url, key, model = sys.argv[1:4]
    prompt = sys.stdin.read()
    body = dumps({"messages": [{"role": "user", "content": prompt}], "stream": True})
    out = sys.stdout.buffer
    # No proxy in the benchmark's environment, so plain http means no TLS at all.
    with (
        httpx.Client(verify=not url.startswith("http://"), timeout=60) as client,
        client.stream(
            "POST",
            f"{url}/openai/deployments/{model}/chat/completions",
            params={"api-version": "2024-02-01"},
            headers={"Api-Key": key, "Content-Type": "application/json"},
            content=body,
        ) as response,
    ):
        response.raise_for_status()
        pending = b""
        for block in response.iter_bytes():  # one item per network read
            lines = (pending + block).split(b"\n")
            pending = lines.pop()
            found = texts(lines)
            if found:
                out.write("".join(found).encode())
                out.flush()
    out.write(b"\n")
    out.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
