"""Templates as DIAL prompts: the emulator's prompts storage, -t with a remote name,
push and pull (ETag-safe), on both backends."""

from __future__ import annotations

import tomllib
import uuid
from pathlib import Path

import httpx
import pytest
from cli_harness import run_dial

pytestmark = pytest.mark.usefixtures("dial_environ")


@pytest.fixture
def http(emulator) -> httpx.Client:
    with httpx.Client(base_url=emulator.url, headers={"Api-Key": emulator.api_key}) as client:
        yield client


@pytest.fixture
def bucket(http) -> str:
    return http.get("/v1/bucket").json()["bucket"]


@pytest.fixture
def templates(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    config = tmp_path / "cfg" / "config.toml"
    config.parent.mkdir()
    config.write_text("")
    monkeypatch.setenv("DIAL_CONFIG", str(config))
    return config.parent / "templates"


def unique(prefix: str = "p") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def dial_chat_prompt(bucket: str, path: str, content: str, **extra) -> dict:
    """A prompt as DIAL Chat saves it (apps/chat/src/types/prompt.ts)."""
    folder, _, name = path.rpartition("/")
    return {
        "id": f"prompts/{bucket}/{path}",
        "name": name,
        "folderId": f"prompts/{bucket}" + (f"/{folder}" if folder else ""),
        "description": "",
        "content": content,
        **extra,
    }


def put_prompt(http, bucket, path, content, **extra) -> httpx.Response:
    reply = http.put(
        f"/v1/prompts/{bucket}/{path}", json=dial_chat_prompt(bucket, path, content, **extra)
    )
    assert reply.status_code == 200, reply.text
    return reply


# -- the emulator ----------------------------------------------------------------------


def test_emulator_stores_prompts_with_etags_and_lists_them(http, bucket):
    folder = unique("folder")
    url = f"/v1/prompts/{bucket}/{folder}/greet"
    created = http.put(
        url,
        json=dial_chat_prompt(bucket, f"{folder}/greet", "Hi {{who}}"),
        headers={"If-None-Match": "*"},
    )
    assert created.status_code == 200
    meta = created.json()
    assert meta["resourceType"] == "PROMPT" and meta["url"] == f"prompts/{bucket}/{folder}/greet"
    assert meta["etag"] == created.headers["etag"]
    again = http.put(
        url, json=dial_chat_prompt(bucket, f"{folder}/greet", "x"), headers={"If-None-Match": "*"}
    )
    assert (again.status_code, again.json()["error"]["message"]) == (412, "Resource already exists")
    got = http.get(url)
    assert got.json()["content"] == "Hi {{who}}" and got.headers["etag"] == meta["etag"]
    listing = http.get(f"/v1/metadata/prompts/{bucket}/{folder}/", params={"recursive": "true"})
    assert [item["name"] for item in listing.json()["items"]] == ["greet"]
    assert listing.json()["resourceType"] == "PROMPT"


def test_emulator_refuses_a_prompt_without_content(http, bucket):
    doc = dial_chat_prompt(bucket, unique(), "x")
    del doc["content"]
    reply = http.put(f"/v1/prompts/{bucket}/{doc['name']}", json=doc)
    assert reply.status_code == 400
    assert reply.json()["error"]["message"] == "Missing required creator property 'content'"


def test_emulator_keeps_prompts_apart_from_conversations(http, bucket):
    name = unique()
    put_prompt(http, bucket, name, "text")
    assert http.get(f"/v1/conversations/{bucket}/{name}").status_code == 404


# -- -t with a DIAL prompt ----------------------------------------------------------------


def test_a_dial_chat_prompt_runs_with_a_default_field(http, bucket, templates, backend_name):
    name = unique("translate")
    put_prompt(http, bucket, name, "Translate {{text}} to {{lang|French}}")
    result = run_dial(
        ["ask", "--backend", backend_name, "-m", "echo", "-t", name, "-p", "text", "hello"]
    )
    assert (result.code, result.stdout) == (0, "Translate hello to French\n")


def test_dial_prefix_reads_a_prompt_in_a_folder(http, bucket, templates, backend_name):
    folder = unique("work")
    put_prompt(http, bucket, f"{folder}/review", "Review {{input}}")
    args = ["ask", "--backend", backend_name, "-m", "echo", "-t", f"dial:{folder}/review"]
    result = run_dial(args, stdin="this code\n")
    assert (result.code, result.stdout) == (0, "Review this code\n")


def test_a_local_template_wins_over_a_prompt_of_the_same_name(http, bucket, templates):
    name = unique()
    put_prompt(http, bucket, name, "remote {{x|r}}")
    templates.mkdir()
    (templates / f"{name}.toml").write_text('prompt = "local {{x|l}}"\n')
    assert run_dial(["ask", "-m", "echo", "-t", name]).stdout == "local l\n"
    assert run_dial(["ask", "-m", "echo", "-t", f"dial:{name}"]).stdout == "remote r\n"


def test_a_name_in_neither_place_exits_4(templates, backend_name):
    result = run_dial(["ask", "--backend", backend_name, "-t", unique("nowhere"), "hi"])
    assert result.code == 4 and "no template" in result.stderr and "DIAL prompts" in result.stderr


# -- push and pull ---------------------------------------------------------------------------


def write(templates: Path, name: str, text: str) -> None:
    path = templates / f"{name}.toml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def test_push_creates_a_dial_chat_prompt_with_our_settings(http, bucket, templates, backend_name):
    name = unique()
    write(
        templates, name, 'description = "d"\nmodel = "gpt-4o"\nsystem = "S"\nprompt = "P {{x}}"\n'
    )
    result = run_dial(["templates", "push", "--backend", backend_name, name])
    assert (result.code, result.stdout) == (0, f"pushed {name}\n")
    doc = http.get(f"/v1/prompts/{bucket}/{name}").json()
    assert doc == {
        "id": f"prompts/{bucket}/{name}",
        "name": name,
        "folderId": f"prompts/{bucket}",
        "description": "d",
        "content": "P {{x}}",
        "dial": {"model": "gpt-4o", "system": "S"},
    }
    listed = run_dial(["templates", "list", "--remote", "--backend", backend_name])
    assert name in listed.stdout.splitlines()


def test_push_never_overwrites_a_prompt_changed_in_dial(http, bucket, templates, backend_name):
    name = unique()
    write(templates, name, 'prompt = "mine"\n')
    assert run_dial(["templates", "push", "--backend", backend_name, name]).code == 0
    put_prompt(http, bucket, name, "edited in DIAL Chat")
    write(templates, name, 'prompt = "mine, edited"\n')
    result = run_dial(["templates", "push", "--backend", backend_name, name])
    assert result.code == 1 and "changed since your last push or pull" in result.stderr
    assert http.get(f"/v1/prompts/{bucket}/{name}").json()["content"] == "edited in DIAL Chat"


def test_a_first_push_never_overwrites_an_existing_prompt(http, bucket, templates, backend_name):
    name = unique()
    put_prompt(http, bucket, name, "theirs")
    write(templates, name, 'prompt = "mine"\n')
    result = run_dial(["templates", "push", "--backend", backend_name, name])
    assert result.code == 1 and "already exists in DIAL" in result.stderr
    assert http.get(f"/v1/prompts/{bucket}/{name}").json()["content"] == "theirs"


def test_pull_saves_a_prompt_and_then_updates_it(http, bucket, templates, backend_name):
    name = unique()
    put_prompt(http, bucket, name, "v1 {{x}}")
    first = run_dial(["templates", "pull", "--backend", backend_name, name])
    assert (first.code, first.stdout) == (0, f"pulled  {name}\n")
    assert tomllib.loads((templates / f"{name}.toml").read_text()) == {"prompt": "v1 {{x}}"}
    same = run_dial(["templates", "pull", "--backend", backend_name, name])
    assert same.stdout == f"up to date  {name}\n"
    put_prompt(http, bucket, name, "v2 {{x}}")
    assert run_dial(["templates", "pull", "--backend", backend_name, name]).code == 0
    assert tomllib.loads((templates / f"{name}.toml").read_text()) == {"prompt": "v2 {{x}}"}


def test_pull_never_overwrites_local_edits(http, bucket, templates, backend_name):
    name = unique()
    put_prompt(http, bucket, name, "v1")
    run_dial(["templates", "pull", "--backend", backend_name, name])
    write(templates, name, 'prompt = "my local edit"\n')
    put_prompt(http, bucket, name, "v2")
    result = run_dial(["templates", "pull", "--backend", backend_name, name])
    assert result.code == 1 and "never pushed" in result.stderr
    assert (templates / f"{name}.toml").read_text() == 'prompt = "my local edit"\n'


def test_push_then_pull_round_trips_every_setting(templates, backend_name, tmp_path, monkeypatch):
    name = unique()
    text = (
        'description = "d"\nmodel = "m"\nsystem = "s"\ntemperature = 0.5\nmax_tokens = 3\n'
        'prompt = "p {{x|y}}"\n\n[configuration]\nk = "v"\n'
    )
    write(templates, name, text)
    assert run_dial(["templates", "push", "--backend", backend_name, name]).code == 0
    other = tmp_path / "other" / "config.toml"  # a second machine
    other.parent.mkdir()
    other.write_text("")
    monkeypatch.setenv("DIAL_CONFIG", str(other))
    assert run_dial(["templates", "pull", "--backend", backend_name, name]).code == 0
    assert (other.parent / "templates" / f"{name}.toml").read_text() == text


def test_pull_all_takes_every_prompt(http, bucket, templates, backend_name):
    folder = unique("all")
    put_prompt(http, bucket, f"{folder}/one", "1")
    put_prompt(http, bucket, f"{folder}/two", "2")
    result = run_dial(["templates", "pull", "--all", "--backend", backend_name])
    assert result.code == 0, result.stderr
    assert (templates / folder / "one.toml").is_file() and (
        templates / folder / "two.toml"
    ).is_file()
    listed = run_dial(["templates", "list"]).stdout.splitlines()
    assert f"{folder}/one" in listed and f"{folder}/two" in listed


def test_pull_needs_a_name_or_all(templates):
    assert run_dial(["templates", "pull"]).code == 2
