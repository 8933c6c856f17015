"""``StrataChatStore``: LlamaIndex's ``BaseChatStore`` (``SimpleChatStore``'s
semantics): chat histories by key, appends atomic and in order."""

from __future__ import annotations

from typing import Any, List, Optional

from llama_index.core.llms import ChatMessage
from llama_index.core.storage.chat_store.base import BaseChatStore
from pydantic import PrivateAttr

from ._core import DEFAULT_TIMEOUT, Strata, resolve


def _dump(message: ChatMessage) -> dict:
    return message.model_dump(mode="json")


def _messages(values: Optional[list]) -> Optional[List[ChatMessage]]:
    if values is None:
        return None
    return [ChatMessage.model_validate(v) for v in values]


def _message(value: Optional[dict]) -> Optional[ChatMessage]:
    return None if value is None else ChatMessage.model_validate(value)


class StrataChatStore(BaseChatStore):
    """Chat histories by key."""

    _strata: Strata = PrivateAttr()

    def __init__(
        self,
        handle: Optional[Strata] = None,
        *,
        path: Optional[str] = None,
        cluster: Any = None,
        timeout: float = DEFAULT_TIMEOUT,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self._strata = resolve(handle, path, cluster, timeout)

    @classmethod
    def class_name(cls) -> str:
        return "StrataChatStore"

    @property
    def strata(self) -> Strata:
        return self._strata

    def set_messages(self, key: str, messages: List[ChatMessage]) -> None:
        self._strata._call("chat", "set_messages", {"key": key, "messages": [_dump(m) for m in messages]})

    async def aset_messages(self, key: str, messages: List[ChatMessage]) -> None:
        await self._strata._acall("chat", "set_messages", {"key": key, "messages": [_dump(m) for m in messages]})

    def get_messages(self, key: str) -> List[ChatMessage]:
        return _messages(self._strata._call("chat", "get_messages", {"key": key})) or []

    async def aget_messages(self, key: str) -> List[ChatMessage]:
        return _messages(await self._strata._acall("chat", "get_messages", {"key": key})) or []

    def add_message(self, key: str, message: ChatMessage, idx: Optional[int] = None) -> None:
        self._strata._call("chat", "add_message", {"key": key, "message": _dump(message), "idx": idx})

    async def async_add_message(self, key: str, message: ChatMessage, idx: Optional[int] = None) -> None:
        await self._strata._acall("chat", "add_message", {"key": key, "message": _dump(message), "idx": idx})

    def delete_messages(self, key: str) -> Optional[List[ChatMessage]]:
        return _messages(self._strata._call("chat", "delete_messages", {"key": key}))

    async def adelete_messages(self, key: str) -> Optional[List[ChatMessage]]:
        return _messages(await self._strata._acall("chat", "delete_messages", {"key": key}))

    def delete_message(self, key: str, idx: int) -> Optional[ChatMessage]:
        return _message(self._strata._call("chat", "delete_message", {"key": key, "idx": idx}))

    async def adelete_message(self, key: str, idx: int) -> Optional[ChatMessage]:
        return _message(await self._strata._acall("chat", "delete_message", {"key": key, "idx": idx}))

    def delete_last_message(self, key: str) -> Optional[ChatMessage]:
        return _message(self._strata._call("chat", "delete_last_message", {"key": key}))

    async def adelete_last_message(self, key: str) -> Optional[ChatMessage]:
        return _message(await self._strata._acall("chat", "delete_last_message", {"key": key}))

    def get_keys(self) -> List[str]:
        return self._strata._call("chat", "get_keys", {})

    async def aget_keys(self) -> List[str]:
        return await self._strata._acall("chat", "get_keys", {})
