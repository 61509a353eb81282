"""The floor without httpx: the standard library's http.client, stream, print.

What a client costs with no third-party HTTP stack at all: ``http.client`` over one
plain-http connection, events split by hand, chunks parsed with orjson (as dial and
the httpx floor do), one write and flush per network read. dial's design card binds
it to httpx, so this floor shows what that choice costs at start-up.

    echo hi | python benchmarks/floor_stdlib.py URL KEY MODEL
"""

import http.client
import sys
from urllib.parse import urlsplit

from orjson import dumps, loads

DATA = b"data: "
DONE = b"data: [DONE]"


def texts(lines: list[bytes]) -> list[str]:
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
    parts = urlsplit(url)
    prompt = sys.stdin.read()
    body = dumps({"messages": [{"role": "user", "content": prompt}], "stream": True})
    out = sys.stdout.buffer
    conn = http.client.HTTPConnection(parts.hostname, parts.port or 80, timeout=60)
    path = f"{parts.path}/openai/deployments/{model}/chat/completions?api-version=2024-02-01"
    conn.request("POST", path, body, {"Api-Key": key, "Content-Type": "application/json"})
    response = conn.getresponse()
    if response.status != 200:
        raise SystemExit(f"HTTP {response.status}")
    pending = b""
    while True:
        block = response.read1(65536)  # what one network read brought (chunked decoded)
        if not block:
            break
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
