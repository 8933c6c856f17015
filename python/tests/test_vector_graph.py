"""The vector store and both graph stores against llama-index-core's simple stores,
and bad input: each raises its documented exception and leaves the store intact."""

import asyncio
import math
import random

import numpy as np
import pytest
from llama_index.core.graph_stores import SimpleGraphStore
from llama_index.core.graph_stores.simple_labelled import SimplePropertyGraphStore
from llama_index.core.graph_stores.types import EntityNode, Relation
from llama_index.core.schema import NodeRelationship, RelatedNodeInfo, TextNode
from llama_index.core.vector_stores import SimpleVectorStore
from llama_index.core.vector_stores.types import (
    FilterCondition,
    FilterOperator,
    MetadataFilter,
    MetadataFilters,
    VectorStoreQuery,
    VectorStoreQueryMode,
)

from strata_llamaindex import StrataGraphStore, StrataPropertyGraphStore, StrataVectorStore, errors

DIM = 8


def f32(x):
    return float(np.float32(x))


def vector_nodes(rng, n):
    nodes = []
    for i in range(n):
        node = TextNode(
            id_=f"v{i}",
            text=f"node {i}",
            embedding=[f32(rng.uniform(-1, 1)) for _ in range(DIM)],
            metadata={"cat": rng.choice(["a", "b", "c"]), "year": rng.randint(2000, 2010), "tags": ["x", rng.choice("yz")]},
        )
        if rng.random() < 0.7:
            node.relationships[NodeRelationship.SOURCE] = RelatedNodeInfo(node_id=f"doc{i % 4}")
        nodes.append(node)
    return nodes


def random_filters(rng):
    pick = [
        MetadataFilter(key="cat", value=rng.choice("abc")),
        MetadataFilter(key="year", value=rng.randint(2000, 2010), operator=rng.choice([FilterOperator.GT, FilterOperator.LTE, FilterOperator.NE])),
        MetadataFilter(key="cat", value=["a", "b"], operator=FilterOperator.IN),
        MetadataFilter(key="tags", value="y", operator=FilterOperator.CONTAINS),
    ]
    chosen = rng.sample(pick, rng.randint(1, 3))
    return MetadataFilters(filters=chosen, condition=rng.choice([FilterCondition.AND, FilterCondition.OR, FilterCondition.NOT]))


def compare(ours, theirs, query, **kwargs):
    a, b = ours.query(query, **kwargs), theirs.query(query, **kwargs)
    assert a.ids == b.ids, query
    assert all(math.isclose(x, y, abs_tol=1e-5) for x, y in zip(a.similarities, b.similarities))
    assert [n.node_id for n in a.nodes] == a.ids


def test_vector_store_matches_simple_vector_store(strata, unique):
    rng = random.Random(3)
    ours, theirs = StrataVectorStore(strata, namespace=unique), SimpleVectorStore()
    nodes = vector_nodes(rng, 120)
    # One batch (embeddings as one NumPy buffer), then more in a second.
    assert ours.add(nodes[:100]) == theirs.add(nodes[:100])
    ours.add(nodes[100:]), theirs.add(nodes[100:])
    stats = ours.index_stats()
    assert stats["vectors"] == 120 and 0 <= stats["unindexed"] <= 120, stats
    assert StrataVectorStore(strata, namespace=unique + "-never").index_stats()["vectors"] == 0
    for _ in range(40):
        q = [rng.uniform(-1, 1) for _ in range(DIM)]
        filters = random_filters(rng) if rng.random() < 0.6 else None
        compare(ours, theirs, VectorStoreQuery(query_embedding=q, similarity_top_k=rng.randint(1, 12), filters=filters))
    q = np.array([rng.uniform(-1, 1) for _ in range(DIM)])  # a NumPy query vector
    compare(ours, theirs, VectorStoreQuery(query_embedding=list(q), similarity_top_k=5, mode=VectorStoreQueryMode.MMR), mmr_threshold=0.3)
    assert [n.node_id for n in ours.get_nodes(node_ids=["v3", "v7"])] == ["v3", "v7"]
    assert {n.node_id for n in ours.get_nodes(filters=MetadataFilters(filters=[MetadataFilter(key="cat", value="a")]))} == {
        n.node_id for n in nodes if n.metadata["cat"] == "a"
    }
    for s in (ours, theirs):
        s.delete("doc1")
        s.delete_nodes(node_ids=["v2", "v5"])
    compare(ours, theirs, VectorStoreQuery(query_embedding=[0.1] * DIM, similarity_top_k=200))

    async def async_calls():
        await ours.async_add([TextNode(id_="async", text="a", embedding=[1.0] * DIM)])
        got = await ours.aquery(VectorStoreQuery(query_embedding=[1.0] * DIM, similarity_top_k=1))
        assert got.ids == ["async"]
        assert [n.node_id for n in await ours.aget_nodes(node_ids=["async"])] == ["async"]
        await ours.adelete_nodes(node_ids=["async"])
        await ours.aclear()
        assert (await ours.aquery(VectorStoreQuery(query_embedding=[1.0] * DIM, similarity_top_k=3))).ids == []

    asyncio.run(async_calls())


def test_bad_vector_input_raises_and_leaves_the_store_intact(strata, unique):
    store = StrataVectorStore(strata, namespace=unique)
    store.add([TextNode(id_="good", text="g", embedding=[1.0, 0.0, 0.0])])
    bad_batches = [
        ([TextNode(id_="b1", text="x", embedding=[1.0, 2.0])], errors.WrongDimension),
        ([TextNode(id_="b2", text="x", embedding=[float("nan"), 0.0, 1.0])], errors.InvalidVector),
        ([TextNode(id_="b3", text="x", embedding=[1.0, 0.0, 0.0]), TextNode(id_="b4", text="x")], ValueError),
    ]
    for batch, kind in bad_batches:
        with pytest.raises(kind):
            store.add(batch)
    with pytest.raises(errors.InvalidFilter):
        bad = MetadataFilters(filters=[MetadataFilter(key="x", value="s", operator=FilterOperator.GT)])
        store.add([TextNode(id_="n", text="n", embedding=[0.0, 1.0, 0.0], metadata={"x": 3})])
        store.query(VectorStoreQuery(query_embedding=[1.0, 0.0, 0.0], similarity_top_k=2, filters=bad))
    with pytest.raises(errors.WrongDimension):
        store.query(VectorStoreQuery(query_embedding=[1.0, 0.0], similarity_top_k=1))
    assert [n.node_id for n in store.get_nodes()] == ["good", "n"], "no bad batch stored anything"
    assert isinstance(errors.WrongDimension("x"), errors.StrataError)


def test_triplet_graph_store_matches_simple_graph_store(strata, unique):
    rng = random.Random(9)
    ours, theirs = StrataGraphStore(strata, graph=unique), SimpleGraphStore()
    names = [f"e{i}" for i in range(12)]
    for _ in range(60):
        s, r, o = rng.choice(names), rng.choice(["knows", "likes", "is"]), rng.choice(names)
        ours.upsert_triplet(s, r, o), theirs.upsert_triplet(s, r, o)
    for s in names:
        assert ours.get(s) == theirs.get(s)
    assert ours.get_rel_map(names[:3], depth=2, limit=30) == theirs.get_rel_map(names[:3], depth=2, limit=30)
    # delete: the intended behaviour (0.14.25's SimpleGraphStore.delete does nothing).
    deleted = set()
    for _ in range(10):
        s = rng.choice(names)
        if theirs.get(s):
            r, o = rng.choice(theirs.get(s))
            ours.delete(s, r, o)
            deleted.add((s, r, o))
    for s in names:
        assert ours.get(s) == [p for p in theirs.get(s) if (s, *p) not in deleted]
    with pytest.raises(NotImplementedError):
        ours.query("MATCH (n) RETURN n")


def test_property_graph_store_matches_simple_property_graph_store(strata, unique):
    rng = random.Random(4)
    ours, theirs = StrataPropertyGraphStore(strata, graph=unique), SimplePropertyGraphStore()
    entities = [
        EntityNode(name=f"p{i}", label=rng.choice(["PERSON", "PLACE"]), properties={"n": i}, embedding=[f32(rng.random()) for _ in range(4)])
        for i in range(20)
    ]
    relations = [
        Relation(label=rng.choice(["KNOWS", "VISITED"]), source_id=rng.choice(entities).id, target_id=rng.choice(entities).id, properties={"w": i})
        for i in range(40)
    ]
    for s in (ours, theirs):
        s.upsert_nodes(entities)
        s.upsert_relations(relations)
    key = lambda n: n.id  # noqa: E731
    assert sorted(map(key, ours.get())) == sorted(map(key, theirs.get()))
    assert [n.id for n in ours.get(ids=["p1", "p2", "zz"])] == [n.id for n in theirs.get(ids=["p1", "p2", "zz"])]
    assert [n.id for n in ours.get(properties={"n": 3})] == ["p3"]
    trip = lambda ts: sorted((s.id, r.label, t.id) for s, r, t in ts)  # noqa: E731
    for sel in [dict(entity_names=["p1", "p5"]), dict(relation_names=["KNOWS"]), dict(properties={"w": 7}), dict(ids=["p2"])]:
        assert trip(ours.get_triplets(**sel)) == trip(theirs.get_triplets(**sel)), sel
    assert ours.get_triplets() == [] == theirs.get_triplets()
    rel_map = ours.get_rel_map([entities[0]], depth=2, limit=30)
    assert len(rel_map) <= 30 and len(set(trip(rel_map))) == len(rel_map), "each triplet once"
    nodes, scores = ours.vector_query(VectorStoreQuery(query_embedding=entities[5].embedding, similarity_top_k=3))
    assert nodes[0].id == "p5" and math.isclose(scores[0], 1.0, abs_tol=1e-5) and scores == sorted(scores, reverse=True)
    rows = ours.structured_query("MATCH (a:PERSON)-[r]->(b) WHERE a.name = $n RETURN b.name AS b ORDER BY b", {"n": "p1"})
    want = sorted(t for s, l, t in trip(theirs.get_triplets(entity_names=["p1"])) if s == "p1" and theirs.get(ids=["p1"])[0].label == "PERSON")
    assert [r["b"] for r in rows] == want
    with pytest.raises(errors.UnsupportedCypher):
        ours.structured_query("CREATE (n:X) RETURN n")
    with pytest.raises(errors.InvalidQuery):
        ours.structured_query("MATCH (n RETURN n")
    schema = ours.get_schema_str()
    assert "Node properties:" in schema and "The relationships:" in schema
    # delete removes only what was selected (upstream main; 0.14.25 also drops nodes).
    knows = trip(theirs.get_triplets(relation_names=["KNOWS"]))
    ours.delete(relation_names=["VISITED"])
    assert ours.get_triplets(relation_names=["VISITED"]) == []
    assert trip(ours.get_triplets(relation_names=["KNOWS"])) == knows

    async def async_calls():
        await ours.aupsert_nodes([EntityNode(name="async", label="X")])
        assert [n.id for n in await ours.aget(ids=["async"])] == ["async"]
        await ours.aupsert_relations([Relation(label="R", source_id="async", target_id="p1")])
        assert trip(await ours.aget_triplets(ids=["async"])) == [("async", "R", "p1")]
        assert len(await ours.astructured_query("MATCH (n:X) RETURN n.name AS n")) == 1
        await ours.adelete(ids=["async"])
        assert await ours.aget(ids=["async"]) == []

    asyncio.run(async_calls())
