"""Each store against llama-index-core's own simple store, call for call: the same
random sequence of calls on both, every answer compared (sync and async methods)."""

import asyncio
import random

import pytest
from llama_index.core.llms import ChatMessage
from llama_index.core.schema import Document, NodeRelationship, RelatedNodeInfo, TextNode
from llama_index.core.storage.chat_store import SimpleChatStore
from llama_index.core.storage.docstore import SimpleDocumentStore
from llama_index.core.storage.index_store import SimpleIndexStore
from llama_index.core.storage.kvstore import SimpleKVStore
from llama_index.core.data_structs.data_structs import IndexDict, IndexList

from strata_llamaindex import (
    StrataChatStore,
    StrataDocumentStore,
    StrataIndexStore,
    StrataKVStore,
    errors,
)


def outcome(fn, *args, **kwargs):
    """What a call answers, or the kind of exception it raises (ValueError, ...)."""
    try:
        return ("ok", fn(*args, **kwargs))
    except (ValueError, KeyError, AssertionError, NotImplementedError) as e:
        for kind in (ValueError, KeyError, AssertionError, NotImplementedError):
            if isinstance(e, kind):
                return ("raises", kind.__name__)
        raise


def test_kv_store_matches_simple_kv_store(strata, unique):
    rng = random.Random(7)
    ours, theirs = StrataKVStore(strata), SimpleKVStore()
    cols = [f"{unique}/a", f"{unique}/b"]
    for step in range(200):
        col, key = rng.choice(cols), f"k{rng.randrange(12)}"
        val = {"step": step, "nested": {"x": [1, 2.5, None, "s"]}}
        op = rng.choice(["put", "put", "put_all", "get", "get_all", "delete"])
        if op == "put":
            ours.put(key, val, col), theirs.put(key, val, col)
        elif op == "put_all":
            pairs = [(f"k{rng.randrange(12)}", {"i": i}) for i in range(3)]
            ours.put_all(pairs, col), theirs.put_all(pairs, col)
        elif op == "get":
            assert ours.get(key, col) == theirs.get(key, col)
        elif op == "get_all":
            assert list(ours.get_all(col).items()) == list(theirs.get_all(col).items())
        else:
            assert ours.delete(key, col) == theirs.delete(key, col)

    async def async_calls():
        await ours.aput("async", {"v": 1}, cols[0])
        theirs.put("async", {"v": 1}, cols[0])
        assert await ours.aget("async", cols[0]) == {"v": 1}
        assert await ours.aget_all(cols[0]) == theirs.get_all(cols[0])
        assert await ours.adelete("async", cols[0]) is True
        assert await ours.adelete("async", cols[0]) is False

    asyncio.run(async_calls())


def random_nodes(rng, n, docs):
    nodes = []
    for i in range(n):
        node = TextNode(id_=f"n{i}", text=f"text {i} " * rng.randint(1, 5), metadata={"i": i, "tag": rng.choice("ab")})
        if docs:
            doc = rng.choice(docs)
            node.relationships[NodeRelationship.SOURCE] = RelatedNodeInfo(node_id=doc, metadata={"d": doc})
        nodes.append(node)
    return nodes


def test_docstore_matches_simple_document_store(strata, unique):
    rng = random.Random(11)
    ours = StrataDocumentStore(strata, namespace=unique)
    theirs = SimpleDocumentStore()
    both = (ours, theirs)
    docs = ["d1", "d2", "d3"]
    nodes = random_nodes(rng, 30, docs) + [Document(id_="plain", text="a document", metadata={"k": "v"})]
    for s in both:
        s.add_documents(nodes[:20])
    assert outcome(ours.add_documents, nodes[:1], allow_update=False) == ("raises", "ValueError")
    store_text = rng.random() < 0.5
    for s in both:
        s.add_documents(nodes[20:], store_text=store_text)
    ids = [n.node_id for n in nodes] + ["missing"]
    for _ in range(60):
        op = rng.choice(["get", "exists", "hash", "ref", "delete", "delete_ref", "nodes"])
        i, doc = rng.choice(ids), rng.choice(docs + ["nope"])
        raise_error = rng.random() < 0.5
        if op == "get":
            a, b = outcome(ours.get_document, i, raise_error), outcome(theirs.get_document, i, raise_error)
            dump = lambda r: r[1].to_dict() if r[0] == "ok" and r[1] is not None else r[1]  # noqa: E731
            assert (a[0], dump(a)) == (b[0], dump(b))
        elif op == "exists":
            assert ours.document_exists(i) == theirs.document_exists(i)
            assert ours.ref_doc_exists(doc) == theirs.ref_doc_exists(doc)
        elif op == "hash":
            assert ours.get_document_hash(i) == theirs.get_document_hash(i)
            assert ours.get_all_document_hashes() == theirs.get_all_document_hashes()
        elif op == "ref":
            assert ours.get_ref_doc_info(doc) == theirs.get_ref_doc_info(doc)
            assert ours.get_all_ref_doc_info() == theirs.get_all_ref_doc_info()
        elif op == "delete":
            assert outcome(ours.delete_document, i, raise_error) == outcome(theirs.delete_document, i, raise_error)
        elif op == "delete_ref":
            assert outcome(ours.delete_ref_doc, doc, raise_error) == outcome(theirs.delete_ref_doc, doc, raise_error)
        else:
            want = rng.sample(ids, 5)
            a, b = outcome(ours.get_nodes, want, raise_error), outcome(theirs.get_nodes, want, raise_error)
            assert a[0] == b[0], (want, raise_error, a, b)
            if a[0] == "ok":
                assert [n.to_dict() for n in a[1]] == [n.to_dict() for n in b[1]]
    assert {k: v.to_dict() for k, v in ours.docs.items()} == {k: v.to_dict() for k, v in theirs.docs.items()}
    for s in both:
        s.set_document_hashes({"n1": "h1", "x": "h2"})
        s.set_document_hash("n2", "h3")
    assert ours.get_all_document_hashes() == theirs.get_all_document_hashes()

    async def async_calls():
        await ours.async_add_documents([TextNode(id_="async", text="a")])
        assert (await ours.aget_document("async")).text == "a"
        assert await ours.adocument_exists("async")
        assert [n.node_id for n in await ours.aget_nodes(["async"])] == ["async"]
        await ours.adelete_document("async")
        assert await ours.aget_document("async", raise_error=False) is None
        with pytest.raises(errors.DocumentNotFound):
            await ours.aget_document("async")

    asyncio.run(async_calls())


def test_index_store_matches_simple_index_store(strata, unique):
    ours, theirs = StrataIndexStore(strata, namespace=unique), SimpleIndexStore()
    assert outcome(ours.get_index_struct) == outcome(theirs.get_index_struct) == ("raises", "AssertionError")
    one = IndexDict(index_id="one")
    one.add_node(TextNode(id_="x", text="x"))
    two = IndexList(index_id="two", nodes=["a", "b"])
    for s in (ours, theirs):
        s.add_index_struct(one)
    assert ours.get_index_struct().to_dict() == theirs.get_index_struct().to_dict()
    for s in (ours, theirs):
        s.add_index_struct(two)
    assert outcome(ours.get_index_struct) == outcome(theirs.get_index_struct) == ("raises", "AssertionError")
    assert [s.to_dict() for s in ours.index_structs()] == [s.to_dict() for s in theirs.index_structs()]
    assert ours.get_index_struct("two").to_dict() == two.to_dict()
    for s in (ours, theirs):
        s.delete_index_struct("one")
    assert [s.index_id for s in ours.index_structs()] == ["two"]

    async def async_calls():
        await ours.async_add_index_struct(one)
        assert (await ours.aget_index_struct("one")).to_dict() == one.to_dict()
        assert len(await ours.async_index_structs()) == 2
        await ours.adelete_index_struct("one")
        assert await ours.aget_index_struct("one") is None

    asyncio.run(async_calls())


def test_chat_store_matches_simple_chat_store(strata, unique):
    rng = random.Random(5)
    ours, theirs = StrataChatStore(strata), SimpleChatStore()
    keys = [f"{unique}-{i}" for i in range(3)]
    for step in range(120):
        key = rng.choice(keys)
        msg = ChatMessage(role=rng.choice(["user", "assistant"]), content=f"m{step}")
        op = rng.choice(["add", "add", "insert", "get", "set", "delete_one", "delete_last", "delete_all"])
        if op == "add":
            ours.add_message(key, msg), theirs.add_message(key, msg)
        elif op == "insert":
            idx = rng.randint(-3, 3)
            ours.add_message(key, msg, idx=idx), theirs.add_message(key, msg, idx=idx)
        elif op == "get":
            assert ours.get_messages(key) == theirs.get_messages(key)
        elif op == "set":
            msgs = [msg, ChatMessage(role="system", content="s")]
            ours.set_messages(key, msgs), theirs.set_messages(key, msgs)
        elif op == "delete_one":
            idx = rng.randint(0, 4)
            assert ours.delete_message(key, idx) == theirs.delete_message(key, idx)
        elif op == "delete_last":
            assert ours.delete_last_message(key) == theirs.delete_last_message(key)
        else:
            assert ours.delete_messages(key) == theirs.delete_messages(key)
    mine = [k for k in ours.get_keys() if k.startswith(unique)]
    assert mine == theirs.get_keys()


def test_async_chat_appends_from_32_tasks_lose_nothing(strata, unique):
    store = StrataChatStore(strata)

    async def session(i):
        key = f"{unique}-s{i}"
        for j in range(10):
            await store.async_add_message(key, ChatMessage(role="user", content=f"{i}:{j}"))
        return key

    async def main():
        keys = await asyncio.gather(*(session(i) for i in range(32)))
        for i, key in enumerate(keys):
            got = [m.content for m in await store.aget_messages(key)]
            assert got == [f"{i}:{j}" for j in range(10)]
        assert sorted(k for k in await store.aget_keys() if k.startswith(unique)) == sorted(keys)
        assert (await store.adelete_last_message(keys[0])).content == "0:9"
        assert (await store.adelete_message(keys[0], 0)).content == "0:0"
        assert len(await store.adelete_messages(keys[0])) == 8
        await store.aset_messages(keys[1], [ChatMessage(role="user", content="only")])
        assert [m.content for m in await store.aget_messages(keys[1])] == ["only"]

    asyncio.run(main())
