"""A conversation being continued: requests from its history, exchanges into the store,
and the edits the chat's commands make (/retry, /undo, /model, /system, /new).

Shared by ``ask`` and ``chat``; nothing else reaches into a conversation's messages.
The in-memory conversation changes only after an answer arrived, so a failed request
leaves both it and the saved file as they were.
"""

from __future__ import annotations

from contextlib import suppress
from typing import TYPE_CHECKING, Any

from dialcli.backends.base import ChatRequest, Reply
from dialcli.conversation import Conversation, Message, Role, utc_now
from dialcli.errors import DialError, StorageError, UsageError

if TYPE_CHECKING:
    from dialcli.store import Store


class Session:
    def __init__(self, conversation: Conversation, store: Store | None, *, saved: bool) -> None:
        self.conversation = conversation
        self.store = store
        self.saved = saved  # whether the conversation already has a file

    @classmethod
    def new(cls, store: Store | None, model: str, system: str | None) -> Session:
        return cls(Conversation(model=model, system=system), store, saved=False)

    @classmethod
    def resume(cls, store: Store, ref: str, model: str | None = None) -> Session:
        """Continue a saved conversation (id, unique prefix or ``last``)."""
        conversation = store.load(store.resolve(ref))
        if model:
            conversation.model = model
        return cls(conversation, store, saved=True)

    @property
    def id(self) -> str:
        return self.conversation.id

    @property
    def model(self) -> str:
        return self.conversation.model

    @property
    def system(self) -> str | None:
        return self.conversation.system

    @property
    def is_empty(self) -> bool:
        return not self.conversation.messages

    # -- asking ------------------------------------------------------------------------

    def request(
        self,
        question: Message,
        *,
        temperature: float | None = None,
        max_tokens: int | None = None,
        custom_fields: dict[str, Any] | None = None,
        max_prompt_tokens: int | None = None,
        replace: bool = False,
    ) -> ChatRequest:
        """The request carrying the history plus ``question``; with ``replace``, the
        history without its last exchange (which the answer will take the place of)."""
        messages = self.conversation.request_messages(-2 if replace else None)
        return ChatRequest(
            model=self.conversation.model,
            messages=[*messages, question.to_request()],
            temperature=temperature,
            max_tokens=max_tokens,
            custom_fields=custom_fields,
            max_prompt_tokens=max_prompt_tokens,
            conversation_id=self.conversation.id,
        )

    def record(
        self, question: Message, reply: Reply, *, interrupted: bool = False, replace: bool = False
    ) -> None:
        """Keep a finished (or interrupted) exchange in memory and on disk; with
        ``replace`` it takes the place of the last exchange (/retry)."""
        old = self.conversation.messages[-2:] if replace else []
        if replace:
            del self.conversation.messages[-2:]
        answer = self._remember(question, reply, interrupted)
        if self.store is None:
            return
        if not self.saved:
            self.store.create(self.conversation)
            self.saved = True
        else:
            # Another process may have appended meanwhile: the change is applied to the
            # file as it is now (see _replace for /retry).
            self._replace(old, [question, answer])

    def _remember(self, question: Message, reply: Reply, interrupted: bool) -> Message:
        """Add the exchange to the conversation in memory; return the answer message."""
        answer = Message(
            Role.ASSISTANT,
            reply.content,
            usage=reply.usage,
            custom_content=reply.custom_content,
            interrupted=interrupted,
            model=self.conversation.model,
            # Issue 17: what each answer used and took, kept even when interrupted.
            created=utc_now(),
            response_model=reply.response_model,
            latency_ms=reply.latency_ms,
            finish_reason=reply.finish_reason,
            response_id=reply.response_id,
            refusal=reply.refusal,
        )
        self.conversation.add(
            question.role, question.content, custom_content=question.custom_content
        )
        self.conversation.messages.append(answer)
        return answer

    # -- what the chat's commands change -----------------------------------------------

    def last_question(self) -> Message:
        """/retry: the question of the last exchange, to be asked again."""
        if not self._ends_in_exchange():
            raise UsageError("nothing to retry yet")
        last = self.conversation.messages[-2]
        return Message(Role.USER, last.content, custom_content=last.custom_content)

    def last_answer(self) -> str:
        """/copy: the text of the last answer."""
        answer = next(
            (m for m in reversed(self.conversation.messages) if m.role is Role.ASSISTANT), None
        )
        if answer is None or not answer.text:
            raise UsageError("no answer to copy yet")
        return answer.text

    def rename(self, title: str) -> None:
        """/save NAME: the conversation's title (as ``dial history`` lists it), on disk at
        once when it is saved, else with its first exchange."""
        self.conversation.title = title
        if not (self.saved and self.store is not None):
            return
        stored = self.store.load(self.id)  # the file as it is now: others may have appended
        stored.title = title
        self.store.save(stored, expected=stored.messages)
        self.conversation.title = title

    def undo(self) -> None:
        """/undo: drop the last exchange, in memory and on disk."""
        if not self._ends_in_exchange():
            raise UsageError("nothing to undo yet")
        old = self.conversation.messages[-2:]
        del self.conversation.messages[-2:]
        if self.saved:
            self._replace(old, [])
        else:
            self._create()

    def _ends_in_exchange(self) -> bool:
        messages = self.conversation.messages
        return (
            len(messages) >= 2
            and messages[-2].role == Role.USER
            and messages[-1].role == Role.ASSISTANT
        )

    def set_model(self, model: str) -> None:
        """/model: later questions go to ``model`` (saved with the next exchange)."""
        self.conversation.model = model

    def set_system(self, text: str) -> None:
        """/system: replace the system prompt, on disk at once (record() follows the file,
        so the file must hold the new prompt)."""
        self.conversation.system = text
        if self.saved and self.store is not None:
            conv = self.conversation
            self.conversation = self.store.append(conv.id, [], model=conv.model, system=text)
        else:
            self._create()

    def start_new(self) -> Session:
        """/new: an empty conversation with the same model, system prompt and store."""
        return Session.new(self.store, self.conversation.model, self.conversation.system)

    def _create(self) -> None:
        # A conversation never saved stays unsaved until it holds an exchange.
        if self.store is not None and self.conversation.messages:
            self.store.create(self.conversation)
            self.saved = True

    def _replace(self, old: list[Message], new: list[Message]) -> None:
        """The saved conversation's last messages ``old`` become ``new``, applied to the
        file as it is now. If another process changed them meanwhile, nothing is
        overwritten (StorageError) and this session follows the file."""
        if self.store is None:
            return
        try:
            self.conversation = self.store.replace_last(
                self.id, old, new, model=self.conversation.model
            )
        except StorageError:
            with suppress(DialError):
                self.conversation = self.store.load(self.id)
            raise
