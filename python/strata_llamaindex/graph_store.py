"""``StrataGraphStore``: LlamaIndex's triplet ``GraphStore`` (``SimpleGraphStore``'s
methods and ``get_rel_map`` order), partitioned on a cluster."""

from __future__ import annotations

from typing import Any, Dict, List, Optional

from llama_index.core.graph_stores.types import GraphStore

from ._core import DEFAULT_TIMEOUT, Strata, resolve


class StrataGraphStore(GraphStore):
    """Subject → ``[relation, object]`` triplets of one graph (``default`` unless named)."""

    def __init__(
        self,
        handle: Optional[Strata] = None,
        graph: str = "default",
        *,
        path: Optional[str] = None,
        cluster: Any = None,
        timeout: float = DEFAULT_TIMEOUT,
    ) -> None:
        self._strata = resolve(handle, path, cluster, timeout)
        self._graph = graph

    @property
    def client(self) -> Strata:
        return self._strata

    def _c(self, op: str, **kw: Any) -> Any:
        kw["graph"] = self._graph
        return self._strata._call("graph", op, kw)

    async def _a(self, op: str, **kw: Any) -> Any:
        kw["graph"] = self._graph
        return await self._strata._acall("graph", op, kw)

    def get(self, subj: str) -> List[List[str]]:
        return self._c("get", subj=subj)

    async def aget(self, subj: str) -> List[List[str]]:
        return await self._a("get", subj=subj)

    def get_rel_map(
        self, subjs: Optional[List[str]] = None, depth: int = 2, limit: int = 30
    ) -> Dict[str, List[List[str]]]:
        return self._c("get_rel_map", subjs=subjs, depth=depth, limit=limit)

    async def aget_rel_map(
        self, subjs: Optional[List[str]] = None, depth: int = 2, limit: int = 30
    ) -> Dict[str, List[List[str]]]:
        return await self._a("get_rel_map", subjs=subjs, depth=depth, limit=limit)

    def upsert_triplet(self, subj: str, rel: str, obj: str) -> None:
        self._c("upsert_triplet", subj=subj, rel=rel, obj=obj)

    async def aupsert_triplet(self, subj: str, rel: str, obj: str) -> None:
        await self._a("upsert_triplet", subj=subj, rel=rel, obj=obj)

    def delete(self, subj: str, rel: str, obj: str) -> None:
        self._c("delete", subj=subj, rel=rel, obj=obj)

    async def adelete(self, subj: str, rel: str, obj: str) -> None:
        await self._a("delete", subj=subj, rel=rel, obj=obj)

    @property
    def graph_dict(self) -> Dict[str, List[List[str]]]:
        """The whole graph as ``SimpleGraphStore``'s ``graph_dict``."""
        return self._c("graph_dict")

    def get_schema(self, refresh: bool = False) -> str:
        return self._c("get_schema")

    def query(self, query: str, param_map: Optional[Dict[str, Any]] = {}) -> Any:
        """Raises ``NotImplementedError`` (:class:`~strata_llamaindex.errors.Unsupported`),
        as ``SimpleGraphStore`` does: triplet stores take no queries."""
        return self._c("query", query=query)

    def persist(self, persist_path: str = "", fs: Any = None) -> None:
        """Nothing to do: every write is durable when it returns."""
