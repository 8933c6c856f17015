"""``StrataKVStore``: LlamaIndex's ``BaseKVStore`` on Strata."""

from __future__ import annotations

from typing import Any, Dict, List, Optional, Tuple

from llama_index.core.storage.kvstore.types import DEFAULT_BATCH_SIZE, DEFAULT_COLLECTION, BaseKVStore

from ._core import DEFAULT_TIMEOUT, Strata, resolve


class StrataKVStore(BaseKVStore):
    """Collections of JSON objects by key. ``put_all`` is one atomic write whatever
    ``batch_size`` says (batches exist in LlamaIndex to bound remote requests)."""

    def __init__(
        self,
        handle: Optional[Strata] = None,
        *,
        path: Optional[str] = None,
        cluster: Any = None,
        timeout: float = DEFAULT_TIMEOUT,
    ) -> None:
        self._strata = resolve(handle, path, cluster, timeout)

    @property
    def strata(self) -> Strata:
        return self._strata

    def put(self, key: str, val: dict, collection: str = DEFAULT_COLLECTION) -> None:
        self._strata._call("kv", "put", {"collection": collection, "key": key, "val": val})

    async def aput(self, key: str, val: dict, collection: str = DEFAULT_COLLECTION) -> None:
        await self._strata._acall("kv", "put", {"collection": collection, "key": key, "val": val})

    def put_all(
        self,
        kv_pairs: List[Tuple[str, dict]],
        collection: str = DEFAULT_COLLECTION,
        batch_size: int = DEFAULT_BATCH_SIZE,
    ) -> None:
        self._strata._call("kv", "put_all", {"collection": collection, "pairs": [list(p) for p in kv_pairs]})

    async def aput_all(
        self,
        kv_pairs: List[Tuple[str, dict]],
        collection: str = DEFAULT_COLLECTION,
        batch_size: int = DEFAULT_BATCH_SIZE,
    ) -> None:
        await self._strata._acall("kv", "put_all", {"collection": collection, "pairs": [list(p) for p in kv_pairs]})

    def get(self, key: str, collection: str = DEFAULT_COLLECTION) -> Optional[dict]:
        return self._strata._call("kv", "get", {"collection": collection, "key": key})

    async def aget(self, key: str, collection: str = DEFAULT_COLLECTION) -> Optional[dict]:
        return await self._strata._acall("kv", "get", {"collection": collection, "key": key})

    def get_all(self, collection: str = DEFAULT_COLLECTION) -> Dict[str, dict]:
        return self._strata._call("kv", "get_all", {"collection": collection})

    async def aget_all(self, collection: str = DEFAULT_COLLECTION) -> Dict[str, dict]:
        return await self._strata._acall("kv", "get_all", {"collection": collection})

    def delete(self, key: str, collection: str = DEFAULT_COLLECTION) -> bool:
        return self._strata._call("kv", "delete", {"collection": collection, "key": key})

    async def adelete(self, key: str, collection: str = DEFAULT_COLLECTION) -> bool:
        return await self._strata._acall("kv", "delete", {"collection": collection, "key": key})
