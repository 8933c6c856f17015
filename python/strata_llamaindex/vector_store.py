"""``StrataVectorStore``: LlamaIndex's ``BasePydanticVectorStore`` on Strata.

It stores text (``stores_text = True``): query results carry the nodes, so a
``VectorStoreIndex`` needs no docstore lookups. ``add`` is one call whatever its size,
the embeddings sent as one NumPy buffer (one atomic write embedded; on a cluster one
atomic write per partition, see ``docs/compatibility.md``); every metadata filter
operator, AND/OR/NOT, ``node_ids``, ``doc_ids`` and MMR are answered by the Rust side
exactly as ``SimpleVectorStore`` answers them (``docs/compatibility.md``)."""

from __future__ import annotations

from typing import Any, Dict, List, Optional, Sequence

from llama_index.core.schema import BaseNode
from llama_index.core.vector_stores.types import (
    BasePydanticVectorStore,
    MetadataFilters,
    VectorStoreQuery,
    VectorStoreQueryResult,
)
from pydantic import PrivateAttr

from ._core import (
    DEFAULT_TIMEOUT,
    Strata,
    doc_json,
    doc_of,
    embeddings_blob,
    filters_json,
    query_blob,
    query_json,
    resolve,
)


class StrataVectorStore(BasePydanticVectorStore):
    """The vectors of one namespace (``default``, ``image``, or any other: a new
    namespace is created by its first ``add``, with that embedding's dimension).

    ``stale_reads=True`` lets a cluster serve queries from any replica (possibly a
    little behind the latest writes) instead of each partition's leader."""

    stores_text: bool = True
    is_embedding_query: bool = True
    namespace: str = "default"
    distance: str = "cosine"
    stale_reads: bool = False

    _strata: Strata = PrivateAttr()

    def __init__(
        self,
        handle: Optional[Strata] = None,
        namespace: str = "default",
        *,
        path: Optional[str] = None,
        cluster: Any = None,
        timeout: float = DEFAULT_TIMEOUT,
        distance: str = "cosine",
        stale_reads: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(namespace=namespace, distance=distance, stale_reads=stale_reads, **kwargs)
        self._strata = resolve(handle, path, cluster, timeout)

    @classmethod
    def class_name(cls) -> str:
        return "StrataVectorStore"

    @property
    def client(self) -> Strata:
        return self._strata

    def _args(self, **kw: Any) -> Dict[str, Any]:
        kw["namespace"] = self.namespace
        kw["stale_ok"] = self.stale_reads
        return kw

    def _add_args(self, nodes: Sequence[BaseNode]) -> tuple:
        docs, rows = [], []
        for node in nodes:
            rows.append(node.get_embedding())  # LlamaIndex's ValueError when unset
            d = doc_json(node)
            d["__data__"]["embedding"] = None
            docs.append(d)
        return self._args(docs=docs, distance=self.distance), embeddings_blob(rows, len(rows))

    def add(self, nodes: Sequence[BaseNode], **add_kwargs: Any) -> List[str]:
        if not nodes:
            return []
        args, blob = self._add_args(nodes)
        return self._strata._call("vector", "add", args, blob)

    async def async_add(self, nodes: Sequence[BaseNode], **kwargs: Any) -> List[str]:
        if not nodes:
            return []
        args, blob = self._add_args(nodes)
        return await self._strata._acall("vector", "add", args, blob)

    def delete(self, ref_doc_id: str, **delete_kwargs: Any) -> None:
        self._strata._call("vector", "delete", self._args(ref_doc_id=ref_doc_id))

    async def adelete(self, ref_doc_id: str, **delete_kwargs: Any) -> None:
        await self._strata._acall("vector", "delete", self._args(ref_doc_id=ref_doc_id))

    def delete_nodes(
        self,
        node_ids: Optional[List[str]] = None,
        filters: Optional[MetadataFilters] = None,
        **delete_kwargs: Any,
    ) -> None:
        self._strata._call("vector", "delete_nodes", self._args(node_ids=node_ids, filters=filters_json(filters)))

    async def adelete_nodes(
        self,
        node_ids: Optional[List[str]] = None,
        filters: Optional[MetadataFilters] = None,
        **delete_kwargs: Any,
    ) -> None:
        args = self._args(node_ids=node_ids, filters=filters_json(filters))
        await self._strata._acall("vector", "delete_nodes", args)

    def clear(self) -> None:
        self._strata._call("vector", "clear", self._args())

    async def aclear(self) -> None:
        await self._strata._acall("vector", "clear", self._args())

    def get_nodes(
        self,
        node_ids: Optional[List[str]] = None,
        filters: Optional[MetadataFilters] = None,
    ) -> List[BaseNode]:
        found = self._strata._call("vector", "get_nodes", self._args(node_ids=node_ids, filters=filters_json(filters)))
        return [doc_of(d) for d in found]

    async def aget_nodes(
        self,
        node_ids: Optional[List[str]] = None,
        filters: Optional[MetadataFilters] = None,
    ) -> List[BaseNode]:
        args = self._args(node_ids=node_ids, filters=filters_json(filters))
        return [doc_of(d) for d in await self._strata._acall("vector", "get_nodes", args)]

    def _query_args(self, query: VectorStoreQuery, kwargs: Dict[str, Any]) -> Dict[str, Any]:
        extra = {"mmr_threshold": kwargs["mmr_threshold"]} if "mmr_threshold" in kwargs else {}
        body = query_json(query)
        if body["node_ids"] == []:
            # VectorStoreIndex's retriever passes the ids its index struct lists, which is
            # none when the vector store keeps the nodes: text-storing stores (Qdrant,
            # Chroma, ...) read an empty list as "no restriction", and so does this one.
            body["node_ids"] = None
        return self._args(query=body, kwargs=extra)

    @staticmethod
    def _result(found: Dict[str, Any]) -> VectorStoreQueryResult:
        return VectorStoreQueryResult(
            nodes=[doc_of(d) for d in found["nodes"]], similarities=found["similarities"], ids=found["ids"]
        )

    def query(self, query: VectorStoreQuery, **kwargs: Any) -> VectorStoreQueryResult:
        found = self._strata._call("vector", "query", self._query_args(query, kwargs), query_blob(query))
        return self._result(found)

    async def aquery(self, query: VectorStoreQuery, **kwargs: Any) -> VectorStoreQueryResult:
        found = await self._strata._acall("vector", "query", self._query_args(query, kwargs), query_blob(query))
        return self._result(found)

    def index_stats(self) -> Dict[str, int]:
        """How far the namespace's approximate (HNSW) index has got, summed over its
        partitions: ``vectors`` stored, ``unindexed`` (not in the graph yet, searched
        exactly meanwhile), ``tombstones``, ``revived``, ``parked``. A namespace nothing
        was added to answers zeros."""
        return self._strata._call("vector", "index_stats", self._args())

    def persist(self, persist_path: str = "", fs: Any = None) -> None:
        """Nothing to do: every write is durable when it returns."""
