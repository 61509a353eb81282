"""The emulator's conversation storage behaves like DIAL Core's (see docs/emulator.md)."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest


@pytest.fixture
def http(emulator) -> httpx.Client:
    with httpx.Client(base_url=emulator.url, headers={"Api-Key": emulator.api_key}) as client:
        yield client


@pytest.fixture
def base(http) -> str:
    bucket = http.get("/v1/bucket").json()["bucket"]
    return f"conversations/{bucket}/e-{uuid.uuid4().hex[:8]}"


def doc(**changes: Any) -> dict[str, Any]:
    return {
        "id": "conversations/b/f/echo__x",
        "folderId": "conversations/b/f",
        "name": "x",
        "prompt": "",
        "temperature": 1,
        "model": {"id": "echo"},
        "messages": [{"role": "user", "content": "hi"}],
        **changes,
    }


def test_create_only_and_update_only_that_version(http, base):
    url = f"/v1/{base}/echo__x"
    created = http.put(url, json=doc(), headers={"If-None-Match": "*"})
    assert created.status_code == 200
    etag = created.headers["etag"]
    assert created.json()["etag"] == etag and created.json()["nodeType"] == "ITEM"

    again = http.put(url, json=doc(), headers={"If-None-Match": "*"})
    assert again.status_code == 412
    assert again.json()["error"]["message"] == "Resource already exists"

    updated = http.put(url, json=doc(name="y"), headers={"If-Match": etag})
    assert updated.status_code == 200 and updated.headers["etag"] != etag
    stale = http.put(url, json=doc(name="z"), headers={"If-Match": etag})
    assert stale.status_code == 412
    assert stale.json()["error"]["message"] == f"ETag {etag} is rejected"

    got = http.get(url)
    assert got.json()["name"] == "y" and got.headers["etag"] == updated.headers["etag"]
    assert http.put(url, json=doc(), headers={"If-None-Match": "abc"}).status_code == 400


def test_listing_pages_with_next_token_and_404_for_an_empty_folder(http, base):
    for n in range(3):
        http.put(f"/v1/{base}/sub/echo__c{n}", json=doc(name=f"c{n}"))
    meta = f"/v1/metadata/{base}/"
    first = http.get(meta, params={"recursive": "true", "limit": 2}).json()
    assert [i["name"] for i in first["items"]] == ["echo__c0", "echo__c1"]
    rest = http.get(meta, params={"recursive": "true", "limit": 2, "token": first["nextToken"]})
    assert [i["name"] for i in rest.json()["items"]] == ["echo__c2"]
    assert "nextToken" not in rest.json()
    flat = http.get(meta).json()["items"]
    assert [(i["name"], i["nodeType"]) for i in flat] == [("sub", "FOLDER")]
    assert http.get(f"/v1/metadata/{base}-nothing/").status_code == 404
    assert http.get(meta, params={"limit": 1001}).status_code == 400


@pytest.mark.parametrize(
    ("path", "body", "status"),
    [
        ("echo__ok", {k: v for k, v in doc().items() if k != "prompt"}, 400),
        ("echo__ok", doc(messages=[{"role": "user"}]), 400),
        ("echo__ok", doc(temperature="hot"), 400),
        ("echo__trailing.", doc(), 400),
        ("folder/", doc(), 400),
    ],
)
def test_what_core_refuses_to_store(http, base, path, body, status):
    assert http.put(f"/v1/{base}/{path}", json=body).status_code == status


def test_another_bucket_is_forbidden_and_deletes_honour_etags(http, base):
    assert http.get("/v1/conversations/other-bucket/x").status_code == 403
    url = f"/v1/{base}/echo__gone"
    etag = http.put(url, json=doc()).headers["etag"]
    assert http.delete(url, headers={"If-Match": "nope"}).status_code == 412
    assert http.delete(url, headers={"If-Match": etag}).status_code == 200
    assert http.get(url).status_code == 404
