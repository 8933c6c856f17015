"""``StrataIndexStore``: LlamaIndex's ``BaseIndexStore`` (``KVIndexStore``'s semantics)."""

from __future__ import annotations

from typing import Any, List, Optional

from llama_index.core.data_structs.data_structs import IndexStruct
from llama_index.core.storage.index_store.types import BaseIndexStore
from llama_index.core.storage.index_store.utils import index_struct_to_json, json_to_index_struct

from ._core import DEFAULT_TIMEOUT, Strata, resolve

DEFAULT_NAMESPACE = "index_store"


class StrataIndexStore(BaseIndexStore):
    """Index structs (every LlamaIndex index type) by id, in one namespace."""

    def __init__(
        self,
        handle: Optional[Strata] = None,
        namespace: Optional[str] = None,
        *,
        path: Optional[str] = None,
        cluster: Any = None,
        timeout: float = DEFAULT_TIMEOUT,
    ) -> None:
        self._strata = resolve(handle, path, cluster, timeout)
        self._namespace = namespace or DEFAULT_NAMESPACE

    @property
    def strata(self) -> Strata:
        return self._strata

    def _c(self, op: str, **kw: Any) -> Any:
        kw["namespace"] = self._namespace
        return self._strata._call("index_store", op, kw)

    async def _a(self, op: str, **kw: Any) -> Any:
        kw["namespace"] = self._namespace
        return await self._strata._acall("index_store", op, kw)

    def persist(self, persist_path: str = "", fs: Any = None) -> None:
        """Nothing to do: every write is durable when it returns."""

    def index_structs(self) -> List[IndexStruct]:
        return [json_to_index_struct(s) for s in self._c("index_structs")]

    async def async_index_structs(self) -> List[IndexStruct]:
        return [json_to_index_struct(s) for s in await self._a("index_structs")]

    def add_index_struct(self, index_struct: IndexStruct) -> None:
        self._c("add_index_struct", index_struct=index_struct_to_json(index_struct))

    async def async_add_index_struct(self, index_struct: IndexStruct) -> None:
        await self._a("add_index_struct", index_struct=index_struct_to_json(index_struct))

    def delete_index_struct(self, key: str) -> None:
        self._c("delete_index_struct", key=key)

    async def adelete_index_struct(self, key: str) -> None:
        await self._a("delete_index_struct", key=key)

    def get_index_struct(self, struct_id: Optional[str] = None) -> Optional[IndexStruct]:
        found = self._c("get_index_struct", struct_id=struct_id)
        return None if found is None else json_to_index_struct(found)

    async def aget_index_struct(self, struct_id: Optional[str] = None) -> Optional[IndexStruct]:
        found = await self._a("get_index_struct", struct_id=struct_id)
        return None if found is None else json_to_index_struct(found)
