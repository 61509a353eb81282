"""A conversation being continued: requests from its history, exchanges into the store.

Shared by ``ask`` and ``chat``. The in-memory conversation changes only after an
answer arrived, so a failed request leaves both it and the saved file as they were.
"""

from __future__ import annotations

from contextlib import suppress
from typing import TYPE_CHECKING, Any

from dialcli.backends.base import ChatRequest, Reply
from dialcli.conversation import Conversation, Message, Role
from dialcli.errors import DialError, StorageError

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

    def request(
        self,
        text: str,
        *,
        temperature: float | None = None,
        max_tokens: int | None = None,
        custom_fields: dict[str, Any] | None = None,
        custom_content: dict[str, Any] | None = None,
    ) -> tuple[ChatRequest, Message]:
        """The request carrying the whole history plus the new question."""
        question = Message(Role.USER, text, custom_content=custom_content)
        messages = [*self.conversation.request_messages(), question.to_request()]
        request = ChatRequest(
            model=self.conversation.model,
            messages=messages,
            temperature=temperature,
            max_tokens=max_tokens,
            custom_fields=custom_fields,
        )
        return request, question

    def record(self, question: Message, reply: Reply, *, interrupted: bool = False) -> None:
        """Keep a finished (or interrupted) exchange in memory and on disk."""
        answer = self._remember(question, reply, interrupted)
        if self.store is None:
            return
        if self.saved:
            # Another process may have appended meanwhile: follow the file.
            self.conversation = self.store.append(
                self.id, [question, answer], model=self.conversation.model
            )
        else:
            self.store.create(self.conversation)
            self.saved = True

    def replace_last(self, question: Message, reply: Reply, *, interrupted: bool = False) -> None:
        """/retry: this exchange takes the place of the last one, in memory and on disk.

        On disk the change is applied to the file as it is now; if another process
        changed it meanwhile, nothing is overwritten: StorageError, and this session
        follows the file.
        """
        old = self.conversation.messages[-2:]
        del self.conversation.messages[-2:]
        answer = self._remember(question, reply, interrupted)
        if self.store is None:
            return
        if not self.saved:
            self.store.create(self.conversation)
            self.saved = True
            return
        try:
            self.conversation = self.store.replace_last(
                self.id, old, [question, answer], model=self.conversation.model
            )
        except StorageError:
            with suppress(DialError):
                self.conversation = self.store.load(self.id)
            raise

    def _remember(self, question: Message, reply: Reply, interrupted: bool) -> Message:
        """Add the exchange to the conversation in memory; return the answer message."""
        answer = Message(
            Role.ASSISTANT,
            reply.content,
            usage=reply.usage,
            custom_content=reply.custom_content,
            interrupted=interrupted,
            model=self.conversation.model,
        )
        self.conversation.add(
            question.role, question.content, custom_content=question.custom_content
        )
        self.conversation.messages.append(answer)
        return answer

    def rewrite(self) -> None:
        """Save the system prompt and model (after /system), keeping what others saved."""
        if self.store is None or not self.conversation.messages:
            return
        if not self.saved:
            self.store.create(self.conversation)
            self.saved = True
            return
        conv = self.conversation
        self.conversation = self.store.append(conv.id, [], model=conv.model, system=conv.system)
