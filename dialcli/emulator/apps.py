"""Application-style deployments: state, stages, attachments, configuration."""

from __future__ import annotations

import base64
from typing import Any

from aidial_sdk.chat_completion import (
    ChatCompletion,
    ConfigurationRequest,
    Request,
    Response,
    Status,
)
from aidial_sdk.exceptions import InvalidRequestError

from dialcli.emulator.basic import stream_text
from dialcli.emulator.storage import FileStorage, caller_bucket
from dialcli.emulator.text import last_user_message, last_user_text, prompt_tokens

# A valid 1x1 PNG (one opaque black pixel), so viewers and `file` accept it.
DOT_PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg=="
)
REPORT_PATH = "emulator/report.txt"
REPORT_TEXT = "Emulator report\n\nEverything is fine.\n"


class Counter(ChatCompletion):
    """Counts turns in ``custom_content.state``, in a stage; fails when the client drops it.

    Staged and stateful, like most DIAL applications: the client must send the state
    back and must not send the stages back (the emulator refuses those with 400).
    """

    async def chat_completion(self, request: Request, response: Response) -> None:
        assistants = [m for m in request.messages if m.role == "assistant"]
        turns = 0
        if assistants:
            content = assistants[-1].custom_content
            state = content.state if content is not None else None
            if state is None:
                raise InvalidRequestError(
                    "state was not sent back: the client dropped custom_content.state"
                )
            if not isinstance(state.get("turns"), int):
                raise InvalidRequestError('state is malformed: expected {"turns": <integer>}')
            turns = state["turns"]
        turns += 1
        with response.create_single_choice() as choice:
            with choice.create_stage("Counting") as stage:
                stage.append_content(f"{turns - 1} turn(s) so far")
            choice.append_content(f"turn {turns}")
            choice.set_state({"turns": turns})
        response.set_usage(prompt_tokens(request), 2)


class Stages(ChatCompletion):
    """Two stages ("Searching", "Answering") with content, then an echo.

    A prompt containing "fail-stage" closes "Searching" with status "failed".
    """

    async def chat_completion(self, request: Request, response: Response) -> None:
        text = last_user_text(request)
        with response.create_single_choice() as choice:
            searching = choice.create_stage("Searching")
            searching.open()
            searching.append_content("Looking up: ")
            searching.append_content(text or "(nothing)")
            searching.close(Status.FAILED if "fail-stage" in text else Status.COMPLETED)
            with choice.create_stage("Answering") as answering:
                answering.append_content(f"Composing {len(text.split())} words")
            choice.append_content(text)
        response.set_usage(prompt_tokens(request), len(text.split()))


class Attachments(ChatCompletion):
    """Answers with an inline PNG and a text file kept in the caller's bucket, then every
    attachment of the last user message, as it was sent."""

    def __init__(self, storage: FileStorage) -> None:
        self.storage = storage

    async def chat_completion(self, request: Request, response: Response) -> None:
        bucket = caller_bucket(request.original_request)
        self.storage.put(bucket, REPORT_PATH, REPORT_TEXT.encode(), "text/plain")
        message = last_user_message(request)
        content = message.custom_content if message is not None else None
        received = (content.attachments if content is not None else None) or []
        with response.create_single_choice() as choice:
            choice.append_content("here are your files")
            choice.add_attachment(
                type="image/png", title="dot.png", data=base64.b64encode(DOT_PNG).decode()
            )
            choice.add_attachment(
                type="text/plain", title="report.txt", url=self.storage.url(bucket, REPORT_PATH)
            )
            for got in received:
                choice.add_attachment(type=got.type, title=got.title, data=got.data, url=got.url)
        response.set_usage(prompt_tokens(request), 4)


class AttachmentsEcho(ChatCompletion):
    """Describes each attachment of the last user message, one line per attachment."""

    def __init__(self, storage: FileStorage) -> None:
        self.storage = storage

    def describe(self, attachment: Any) -> str:
        line = f"- {attachment.title or '(untitled)'} ({attachment.type or 'unknown type'})"
        if attachment.url is not None:
            line += f": url {attachment.url}"
            stored = self.storage.resolve(attachment.url)
            if stored is not None:
                line += f", {len(stored.data)} bytes in storage"
        elif attachment.data is not None:
            line += f": inline data, {len(attachment.data)} base64 characters"
        return line

    async def chat_completion(self, request: Request, response: Response) -> None:
        message = last_user_message(request)
        content = message.custom_content if message is not None else None
        attachments = (content.attachments if content is not None else None) or []
        if attachments:
            lines = [f"received {len(attachments)} attachment(s):"]
            lines += [self.describe(a) for a in attachments]
        else:
            lines = ["received no attachments"]
        await stream_text(request, response, "\n".join(lines))


CONFIGURATION_SCHEMA: dict[str, Any] = {
    "$schema": "http://json-schema.org/draft-07/schema#",
    "type": "object",
    "properties": {
        "style": {
            "type": "string",
            "enum": ["plain", "shout"],
            "default": "plain",
            "description": "shout answers in upper case",
        }
    },
    "additionalProperties": False,
}


class Configurable(ChatCompletion):
    """Echo that honours ``custom_fields.configuration.style`` ("plain" or "shout")."""

    async def configuration(self, request: ConfigurationRequest) -> dict[str, Any]:
        return CONFIGURATION_SCHEMA

    async def chat_completion(self, request: Request, response: Response) -> None:
        fields = request.custom_fields
        configuration = (fields.configuration if fields is not None else None) or {}
        style = configuration.get("style", "plain")
        if style not in ("plain", "shout"):
            raise InvalidRequestError(
                f"configuration.style must be 'plain' or 'shout', not {style!r}"
            )
        text = last_user_text(request)
        await stream_text(request, response, text.upper() if style == "shout" else text)
