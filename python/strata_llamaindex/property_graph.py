"""``StrataPropertyGraphStore``: LlamaIndex's ``PropertyGraphStore`` on Strata, with
``vector_query`` over entity embeddings and ``structured_query`` in a read-only
Cypher subset, so ``PropertyGraphIndex`` and its retrievers (``VectorContextRetriever``,
``TextToCypherRetriever``, ``CypherTemplateRetriever``, ...) run on it unchanged.
Upstream main's fixed contract is followed where 0.14.25 differs
(``docs/compatibility.md``)."""

from __future__ import annotations

from typing import Any, Dict, List, Optional, Sequence, Tuple

from llama_index.core.graph_stores.types import (
    ChunkNode,
    EntityNode,
    LabelledNode,
    PropertyGraphStore,
    Relation,
    Triplet,
)
from llama_index.core.schema import BaseNode
from llama_index.core.vector_stores.types import VectorStoreQuery

from ._core import DEFAULT_TIMEOUT, Strata, doc_json, doc_of, query_blob, query_json, resolve


def _node(value: Dict[str, Any]) -> LabelledNode:
    if "name" in value:
        return EntityNode.model_validate(value)
    return ChunkNode.model_validate(value)


def _triplets(values: List[List[Dict[str, Any]]]) -> List[Triplet]:
    return [(_node(s), Relation.model_validate(r), _node(t)) for s, r, t in values]


def _dump(item: Any) -> Dict[str, Any]:
    return item.model_dump(mode="json")


class StrataPropertyGraphStore(PropertyGraphStore):
    """The labelled property graph of one graph (``default`` unless named)."""

    supports_structured_queries: bool = True
    supports_vector_queries: bool = True

    def __init__(
        self,
        handle: Optional[Strata] = None,
        graph: str = "default",
        *,
        path: Optional[str] = None,
        cluster: Any = None,
        timeout: float = DEFAULT_TIMEOUT,
        stale_reads: bool = False,
    ) -> None:
        self._strata = resolve(handle, path, cluster, timeout)
        self._graph = graph
        self._stale = stale_reads

    @property
    def client(self) -> Strata:
        return self._strata

    def _args(self, kw: Dict[str, Any]) -> Dict[str, Any]:
        kw["graph"] = self._graph
        kw["stale_ok"] = self._stale
        return kw

    def _c(self, op: str, blob: Optional[bytes] = None, **kw: Any) -> Any:
        return self._strata._call("property_graph", op, self._args(kw), blob)

    async def _a(self, op: str, blob: Optional[bytes] = None, **kw: Any) -> Any:
        return await self._strata._acall("property_graph", op, self._args(kw), blob)

    # ----- reads -----

    def get(self, properties: Optional[dict] = None, ids: Optional[List[str]] = None) -> List[LabelledNode]:
        return [_node(n) for n in self._c("get", properties=properties, ids=ids)]

    async def aget(self, properties: Optional[dict] = None, ids: Optional[List[str]] = None) -> List[LabelledNode]:
        return [_node(n) for n in await self._a("get", properties=properties, ids=ids)]

    def get_triplets(
        self,
        entity_names: Optional[List[str]] = None,
        relation_names: Optional[List[str]] = None,
        properties: Optional[dict] = None,
        ids: Optional[List[str]] = None,
    ) -> List[Triplet]:
        found = self._c(
            "get_triplets", entity_names=entity_names, relation_names=relation_names, properties=properties, ids=ids
        )
        return _triplets(found)

    async def aget_triplets(
        self,
        entity_names: Optional[List[str]] = None,
        relation_names: Optional[List[str]] = None,
        properties: Optional[dict] = None,
        ids: Optional[List[str]] = None,
    ) -> List[Triplet]:
        found = await self._a(
            "get_triplets", entity_names=entity_names, relation_names=relation_names, properties=properties, ids=ids
        )
        return _triplets(found)

    def get_rel_map(
        self,
        graph_nodes: List[LabelledNode],
        depth: int = 2,
        limit: int = 30,
        ignore_rels: Optional[List[str]] = None,
    ) -> List[Triplet]:
        ids = [n.id for n in graph_nodes]
        return _triplets(self._c("get_rel_map", ids=ids, depth=depth, limit=limit, ignore_rels=ignore_rels))

    async def aget_rel_map(
        self,
        graph_nodes: List[LabelledNode],
        depth: int = 2,
        limit: int = 30,
        ignore_rels: Optional[List[str]] = None,
    ) -> List[Triplet]:
        ids = [n.id for n in graph_nodes]
        return _triplets(await self._a("get_rel_map", ids=ids, depth=depth, limit=limit, ignore_rels=ignore_rels))

    def get_llama_nodes(self, node_ids: List[str]) -> List[BaseNode]:
        return [doc_of(d) for d in self._c("get_llama_nodes", node_ids=list(node_ids))]

    async def aget_llama_nodes(self, node_ids: List[str]) -> List[BaseNode]:
        return [doc_of(d) for d in await self._a("get_llama_nodes", node_ids=list(node_ids))]

    def vector_query(self, query: VectorStoreQuery, **kwargs: Any) -> Tuple[List[LabelledNode], List[float]]:
        found = self._c("vector_query", query_blob(query), query=query_json(query))
        return [_node(n) for n in found["nodes"]], found["scores"]

    async def avector_query(
        self, query: VectorStoreQuery, **kwargs: Any
    ) -> Tuple[List[LabelledNode], List[float]]:
        found = await self._a("vector_query", query_blob(query), query=query_json(query))
        return [_node(n) for n in found["nodes"]], found["scores"]

    def structured_query(self, query: str, param_map: Optional[Dict[str, Any]] = None) -> Any:
        return self._c("structured_query", query=query, param_map=param_map)

    async def astructured_query(self, query: str, param_map: Optional[Dict[str, Any]] = None) -> Any:
        return await self._a("structured_query", query=query, param_map=param_map)

    def get_schema(self, refresh: bool = False) -> Any:
        return self._c("get_schema")

    async def aget_schema(self, refresh: bool = False) -> Any:
        return await self._a("get_schema")

    def get_schema_str(self, refresh: bool = False) -> str:
        return self._c("get_schema_str")

    async def aget_schema_str(self, refresh: bool = False) -> str:
        return await self._a("get_schema_str")

    # ----- writes -----

    def upsert_nodes(self, nodes: Sequence[LabelledNode]) -> None:
        self._c("upsert_nodes", nodes=[_dump(n) for n in nodes])

    async def aupsert_nodes(self, nodes: Sequence[LabelledNode]) -> None:
        await self._a("upsert_nodes", nodes=[_dump(n) for n in nodes])

    def upsert_relations(self, relations: Sequence[Relation]) -> None:
        self._c("upsert_relations", relations=[_dump(r) for r in relations])

    async def aupsert_relations(self, relations: Sequence[Relation]) -> None:
        await self._a("upsert_relations", relations=[_dump(r) for r in relations])

    def upsert_llama_nodes(self, llama_nodes: Sequence[BaseNode]) -> None:
        self._c("upsert_llama_nodes", docs=[doc_json(n) for n in llama_nodes])

    async def aupsert_llama_nodes(self, llama_nodes: Sequence[BaseNode]) -> None:
        await self._a("upsert_llama_nodes", docs=[doc_json(n) for n in llama_nodes])

    def delete(
        self,
        entity_names: Optional[List[str]] = None,
        relation_names: Optional[List[str]] = None,
        properties: Optional[dict] = None,
        ids: Optional[List[str]] = None,
    ) -> None:
        self._c("delete", entity_names=entity_names, relation_names=relation_names, properties=properties, ids=ids)

    async def adelete(
        self,
        entity_names: Optional[List[str]] = None,
        relation_names: Optional[List[str]] = None,
        properties: Optional[dict] = None,
        ids: Optional[List[str]] = None,
    ) -> None:
        await self._a(
            "delete", entity_names=entity_names, relation_names=relation_names, properties=properties, ids=ids
        )

    def delete_llama_nodes(
        self, node_ids: Optional[List[str]] = None, ref_doc_ids: Optional[List[str]] = None
    ) -> None:
        self._c("delete_llama_nodes", node_ids=node_ids, ref_doc_ids=ref_doc_ids)

    async def adelete_llama_nodes(
        self, node_ids: Optional[List[str]] = None, ref_doc_ids: Optional[List[str]] = None
    ) -> None:
        await self._a("delete_llama_nodes", node_ids=node_ids, ref_doc_ids=ref_doc_ids)

    def persist(self, persist_path: str = "", fs: Any = None) -> None:
        """Nothing to do: every write is durable when it returns."""
