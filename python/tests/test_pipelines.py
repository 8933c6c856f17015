"""LlamaIndex's own pipelines over a Strata StorageContext, embedded and on a cluster:
the answers must be those of the same pipeline over the simple stores."""

import asyncio
import hashlib
import math
import os
import subprocess
import sys
import textwrap
from typing import Any, List

import pytest
from llama_index.core import Document, PropertyGraphIndex, StorageContext, VectorStoreIndex, load_index_from_storage
from llama_index.core.embeddings import MockEmbedding
from llama_index.core.indices.property_graph import (
    CypherTemplateRetriever,
    TextToCypherRetriever,
    ImplicitPathExtractor,
    LLMSynonymRetriever,
    SimpleLLMPathExtractor,
    VectorContextRetriever,
)
from llama_index.core.ingestion import DocstoreStrategy, IngestionPipeline
from llama_index.core.llms import ChatMessage, CompletionResponse, CustomLLM, LLMMetadata
from llama_index.core.llms.callbacks import llm_completion_callback
from llama_index.core.memory import ChatMemoryBuffer
from llama_index.core.node_parser import SentenceSplitter
from pydantic import BaseModel

from strata_llamaindex import Strata, StrataChatStore

DIM = 16


class HashEmbedding(MockEmbedding):
    """Deterministic, text-dependent embeddings (MockEmbedding's are all equal)."""

    def _vec(self, text: str) -> List[float]:
        digest = hashlib.sha256(text.encode()).digest()
        return [(b - 128) / 128.0 for b in digest[: self.embed_dim]]

    def _get_text_embedding(self, text: str) -> List[float]:
        return self._vec(text)

    def _get_query_embedding(self, query: str) -> List[float]:
        return self._vec(query)

    async def _aget_query_embedding(self, query: str) -> List[float]:
        return self._vec(query)


DOCS = [
    Document(id_=f"doc{i}", text=f"Document {i}. " + " ".join(f"sentence {i}.{j} about topic {j % 3}." for j in range(30)))
    for i in range(6)
]


def scored(results):
    """What a retrieval answered: each node's source document, text and score (node ids
    are random uuids, different in each index)."""
    return [(r.node.ref_doc_id, r.node.get_content(), round(r.score, 6)) for r in results]


def test_vector_store_index_retrieves_as_over_the_simple_stores(strata, unique):
    splitter = SentenceSplitter(chunk_size=64, chunk_overlap=0)
    for embed in (HashEmbedding(embed_dim=DIM), MockEmbedding(embed_dim=DIM)):
        ours_ctx = StorageContext.from_defaults(
            docstore=strata.docstore(f"{unique}-{type(embed).__name__}"),
            index_store=strata.index_store(f"{unique}-{type(embed).__name__}"),
            vector_store=strata.vector_store(f"{unique}-{type(embed).__name__}"),
        )
        ours = VectorStoreIndex.from_documents(DOCS, storage_context=ours_ctx, embed_model=embed, transformations=[splitter])
        theirs = VectorStoreIndex.from_documents(DOCS, embed_model=embed, transformations=[splitter])
        for q in ["topic 1", "sentence 3.7", "document five"]:
            if isinstance(embed, HashEmbedding):
                a = ours.as_retriever(similarity_top_k=5).retrieve(q)
                b = theirs.as_retriever(similarity_top_k=5).retrieve(q)
                assert scored(a) == scored(b)
            else:  # every score ties: compare the whole ranking as a set
                n = len(theirs.docstore.docs)
                a = ours.as_retriever(similarity_top_k=n).retrieve(q)
                b = theirs.as_retriever(similarity_top_k=n).retrieve(q)
                assert sorted(scored(a)) == sorted(scored(b))
        # delete_ref_doc removes the document's nodes from every store
        ours.delete_ref_doc("doc2", delete_from_docstore=True)
        theirs.delete_ref_doc("doc2", delete_from_docstore=True)
        a = ours.as_retriever(similarity_top_k=100).retrieve("topic 2")
        assert sorted(scored(a)) == sorted(scored(theirs.as_retriever(similarity_top_k=100).retrieve("topic 2")))
        assert ours_ctx.docstore.get_ref_doc_info("doc2") is None


def test_ingestion_pipeline_upserts_write_nothing_the_second_time(strata, unique):
    docstore, vectors = strata.docstore(unique), strata.vector_store(unique)

    def pipeline():
        return IngestionPipeline(
            transformations=[SentenceSplitter(chunk_size=64, chunk_overlap=0), HashEmbedding(embed_dim=DIM)],
            docstore=docstore,
            vector_store=vectors,
            docstore_strategy=DocstoreStrategy.UPSERTS,
        )

    first = pipeline().run(documents=DOCS)
    assert len(first) > len(DOCS)
    assert pipeline().run(documents=DOCS) == [], "unchanged documents write nothing"
    changed = Document(id_="doc1", text="Document 1 rewritten: one short sentence.")
    again = pipeline().run(documents=[changed] + DOCS[2:])
    assert [n.ref_doc_id for n in again] == ["doc1"]
    kept = [n for n in vectors.get_nodes() if n.ref_doc_id == "doc1"]
    assert [n.get_content() for n in kept] == ["Document 1 rewritten: one short sentence."]
    assert docstore.get_document_hash("doc1") == changed.hash


def test_index_loads_in_a_new_process_and_refreshes(strata, unique, tmp_path, request):
    embed = HashEmbedding(embed_dim=DIM)
    ctx = StorageContext.from_defaults(
        docstore=strata.docstore(unique), index_store=strata.index_store(unique), vector_store=strata.vector_store(unique)
    )
    index = VectorStoreIndex.from_documents(DOCS[:3], storage_context=ctx, embed_model=embed)
    index.set_index_id(unique)
    changed = [Document(id_="doc0", text="Document 0 changed."), DOCS[1], DOCS[3]]
    assert index.refresh_ref_docs(changed) == [True, False, True]
    want = scored(index.as_retriever(similarity_top_k=4).retrieve("Document 0 changed."))
    if strata.embedded:
        target = f"Strata.open({strata._native.target!r})"
        strata.close()  # the directory is free for the other process
    else:
        target = f"Strata.connect({strata._native.target!r})"
    script = textwrap.dedent(
        f"""
        import json, sys
        sys.path.insert(0, {os.path.dirname(__file__)!r})
        from strata_llamaindex import Strata
        from llama_index.core import StorageContext, load_index_from_storage
        from test_pipelines import HashEmbedding, scored
        s = {target}
        ctx = StorageContext.from_defaults(docstore=s.docstore({unique!r}), index_store=s.index_store({unique!r}),
                                           vector_store=s.vector_store({unique!r}))
        index = load_index_from_storage(ctx, index_id={unique!r}, embed_model=HashEmbedding(embed_dim={DIM}))
        print(json.dumps(scored(index.as_retriever(similarity_top_k=4).retrieve("Document 0 changed."))))
        """
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    import json

    assert [tuple(x) for x in json.loads(out.stdout.strip().splitlines()[-1])] == want


def test_chat_memory_over_strata_chat_store(strata, unique):
    store = StrataChatStore(strata)
    memory = ChatMemoryBuffer.from_defaults(chat_store=store, chat_store_key=unique, token_limit=100000)
    for i in range(5):
        memory.put(ChatMessage(role="user", content=f"question {i}"))
        memory.put(ChatMessage(role="assistant", content=f"answer {i}"))
    again = ChatMemoryBuffer.from_defaults(chat_store=store, chat_store_key=unique, token_limit=100000)
    assert [m.content for m in again.get_all()] == [m for i in range(5) for m in (f"question {i}", f"answer {i}")]
    small = ChatMemoryBuffer.from_defaults(chat_store=store, chat_store_key=unique, token_limit=12)
    assert [m.content for m in small.get()][-1] == "answer 4"

    async def aput():
        await again.aput(ChatMessage(role="user", content="async"))
        return await again.aget_all()

    assert asyncio.run(aput())[-1].content == "async"
    again.reset()
    assert store.get_messages(unique) == []


class Names(BaseModel):
    names: List[str]


class ScriptedLLM(CustomLLM):
    """A stand-in LLM that answers each of LlamaIndex's prompts as a model would:
    triplet extraction echoes the prompt (whose text holds the triplets), synonym
    expansion and Cypher-template parameters give fixed answers."""

    @property
    def metadata(self) -> LLMMetadata:
        return LLMMetadata(num_output=256, context_window=8192)

    def _answer(self, prompt: str) -> str:
        if "Cypher" in prompt and "json" not in prompt.lower():
            return "MATCH (e:`__Entity__` {name: 'Raft'})-[r]->(o) RETURN e.name AS s, type(r) AS r, o.name AS o"
        if "synonyms" in prompt:
            return "Strata^RAFT"
        if "names" in prompt and "json" in prompt.lower():
            return '{"names": ["Strata"]}'
        return prompt  # extraction: the text's own "(subject, predicate, object)" lines

    @llm_completion_callback()
    def complete(self, prompt: str, formatted: bool = False, **kwargs: Any) -> CompletionResponse:
        return CompletionResponse(text=self._answer(prompt))

    @llm_completion_callback()
    def stream_complete(self, prompt: str, formatted: bool = False, **kwargs: Any):
        yield CompletionResponse(text=self._answer(prompt), delta=self._answer(prompt))


GRAPH_DOCS = [
    Document(id_="g1", text="Strata is a database.\n(Strata, uses, Raft)\n(Strata, stores, Vectors)"),
    Document(id_="g2", text="Raft is a protocol.\n(Raft, elects, Leader)\n(Leader, replicates, Log)"),
]


def test_property_graph_index_and_its_retrievers(strata, unique):
    llm, embed = ScriptedLLM(), HashEmbedding(embed_dim=DIM)
    graph = strata.property_graph_store(unique)
    index = PropertyGraphIndex.from_documents(
        GRAPH_DOCS,
        property_graph_store=graph,
        llm=llm,
        embed_model=embed,
        kg_extractors=[ImplicitPathExtractor(), SimpleLLMPathExtractor(llm=llm, num_workers=1, max_paths_per_chunk=20)],
        show_progress=False,
    )
    # SimpleLLMPathExtractor capitalizes what it parses.
    triplets = {(s.id, r.label, t.id) for s, r, t in graph.get_triplets(relation_names=["Uses", "Elects", "Replicates"])}
    assert triplets == {("Strata", "Uses", "Raft"), ("Raft", "Elects", "Leader"), ("Leader", "Replicates", "Log")}
    sources = graph.get_triplets(relation_names=["SOURCE"])  # ImplicitPathExtractor: chunk -> document
    assert sorted(t.id for _, _, t in sources) == ["g1", "g2"]
    chunks = graph.get_llama_nodes([s.id for s, _, _ in sources])  # the chunks, rebuilt as LlamaIndex nodes
    assert sorted((c.ref_doc_id, c.get_content()) for c in chunks) == sorted((d.id_, d.text) for d in GRAPH_DOCS)

    synonyms = LLMSynonymRetriever(graph, llm=llm, include_text=False)
    found = {n.node.get_content() for n in synonyms.retrieve("what does strata use?")}
    assert any("Strata -> Uses -> Raft" in t for t in found), found

    vector = VectorContextRetriever(graph, embed_model=embed, include_text=False, similarity_top_k=2)
    got = vector.retrieve("Strata")
    assert got and all(" -> " in n.node.get_content() for n in got)

    cypher = CypherTemplateRetriever(
        graph,
        Names,
        "MATCH (e:`__Entity__`)-[r]->(o) WHERE e.name IN $names RETURN e.name AS s, type(r) AS r, o.name AS o ORDER BY r",
        llm=llm,
    )
    rows = cypher.retrieve("what is Strata made of?")
    assert rows and "Raft" in rows[0].node.get_content()

    text_to_cypher = TextToCypherRetriever(graph, llm=llm)
    answer = text_to_cypher.retrieve("what does Raft do?")
    assert len(answer) == 1 and "Elects" in answer[0].node.get_content() and "Leader" in answer[0].node.get_content()
