#!/usr/bin/env python3
"""Strata from Python against the stores LlamaIndex users run today, in one run on the
same data (issue 12's benchmark; method and figures in docs/benchmarks.md).

    python python/bench/bench_stores.py [--nodes 100000] [--queries 200] [--cluster ADDRS]
                                        [--redis-port P] [--skip simple,redis,...]

Backends: Strata embedded (a fresh directory), Strata on a cluster (--cluster: client
addresses of a running cluster, e.g. from deploy/local-cluster.sh), the simple stores
(SimpleDocumentStore, SimpleVectorStore), and RedisDocumentStore + RedisChatStore against
a redis-server this script starts with `--appendonly yes --appendfsync always` (every
write fsynced, as Strata's are). For each: `add_documents` of N nodes of ~1 KiB in
batches of 1,000 (nodes/s), `get_all_document_hashes` (s), `get_document` of random ids
(p50/p99), chat appends (p50); then a VectorStoreIndex over N 384-d vectors (seeded,
normalised) and its retriever at top 10 (p50/p99, the embedding given, so the figure is
the store's and LlamaIndex's, not an embedding model's); and the same queries through
the native call alone (`Strata._call`, no LlamaIndex objects) for what the Python layer
adds.
"""

import argparse
import os
import random
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np
from llama_index.core import VectorStoreIndex
from llama_index.core.llms import ChatMessage
from llama_index.core.schema import QueryBundle, TextNode
from llama_index.core.storage.docstore import SimpleDocumentStore
from llama_index.core.vector_stores import SimpleVectorStore

from strata_llamaindex import Strata

DIM = 384


def pct(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(len(xs) * p))] * 1000


def make_nodes(n, rng):
    body = "lorem ipsum dolor sit amet " * 37  # ~1 KiB
    return [TextNode(id_=f"node-{i}", text=f"{i} {body}", metadata={"i": i, "g": i % 10}) for i in range(n)]


def bench_docstore(name, store, nodes, rng, queries, chat=None):
    t = time.perf_counter()
    for i in range(0, len(nodes), 1000):
        store.add_documents(nodes[i : i + 1000])
    ingest = len(nodes) / (time.perf_counter() - t)
    t = time.perf_counter()
    hashes = store.get_all_document_hashes()
    all_hashes = time.perf_counter() - t
    assert len(hashes) == len(nodes)
    lat = []
    for _ in range(queries):
        i = rng.randrange(len(nodes))
        t = time.perf_counter()
        got = store.get_document(f"node-{i}")
        lat.append(time.perf_counter() - t)
        assert got.node_id == f"node-{i}"
    row = {"backend": name, "ingest nodes/s": f"{ingest:,.0f}", "get_all_document_hashes s": f"{all_hashes:.2f}",
           "get_document p50 ms": f"{pct(lat, 0.5):.3f}", "p99 ms": f"{pct(lat, 0.99):.3f}"}
    if chat is not None:
        lat = []
        for j in range(queries):
            t = time.perf_counter()
            chat.add_message(f"session-{j % 8}", ChatMessage(role="user", content=f"message {j}"))
            lat.append(time.perf_counter() - t)
        row["chat append p50 ms"] = f"{pct(lat, 0.5):.3f}"
    print(row, flush=True)
    return row


def vectors(n, rng_seed=7):
    g = np.random.default_rng(rng_seed)
    v = g.standard_normal((n, DIM)).astype(np.float32)
    v /= np.linalg.norm(v, axis=1, keepdims=True)
    return v


def bench_retrieval(name, vector_store, embs, queries, storage_context=None):
    from llama_index.core import StorageContext
    from llama_index.core.embeddings import MockEmbedding

    nodes = [TextNode(id_=f"v-{i}", text=f"vector {i}", embedding=embs[i].tolist()) for i in range(len(embs))]
    ctx = storage_context or StorageContext.from_defaults(vector_store=vector_store)
    t = time.perf_counter()
    # The nodes carry their embeddings: building the index embeds nothing, it adds.
    index = VectorStoreIndex(nodes, storage_context=ctx, embed_model=MockEmbedding(embed_dim=DIM), insert_batch_size=10000)
    load = len(nodes) / (time.perf_counter() - t)
    retriever = index.as_retriever(similarity_top_k=10)
    qs = vectors(queries, rng_seed=99)
    lat = []
    for q in qs:
        bundle = QueryBundle(query_str="q", embedding=q.tolist())
        t = time.perf_counter()
        got = retriever.retrieve(bundle)
        lat.append(time.perf_counter() - t)
        assert len(got) == 10
    row = {"backend": name, "vector add nodes/s": f"{load:,.0f}", "retrieve top10 p50 ms": f"{pct(lat, 0.5):.3f}",
           "p99 ms": f"{pct(lat, 0.99):.3f}"}
    client = getattr(ctx.vector_store, "client", None)
    if hasattr(client, "_call"):
        from llama_index.core.vector_stores.types import VectorStoreQuery
        from strata_llamaindex._core import query_blob, query_json

        raw = []
        for q in qs:
            query = VectorStoreQuery(query_embedding=q.tolist(), similarity_top_k=10)
            t = time.perf_counter()
            client._call("vector", "query", {"namespace": ctx.vector_store.namespace, "query": query_json(query)},
                         query_blob(query))
            raw.append(time.perf_counter() - t)
        row["native call p50 ms"] = f"{pct(raw, 0.5):.3f}"
        row["native p99 ms"] = f"{pct(raw, 0.99):.3f}"
    print(row, flush=True)
    return row


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--nodes", type=int, default=100_000)
    ap.add_argument("--vectors", type=int, default=100_000)
    ap.add_argument("--queries", type=int, default=200)
    ap.add_argument("--cluster", default=None)
    ap.add_argument("--skip", default="")
    args = ap.parse_args()
    skip = set(filter(None, args.skip.split(",")))
    rng = random.Random(1)
    nodes = make_nodes(args.nodes, rng)
    work = tempfile.mkdtemp(prefix="strata-pybench-")
    redis = None
    try:
        strata = Strata.open(os.path.join(work, "data"))
        bench_docstore("strata embedded", strata.docstore("bench"), nodes, rng, args.queries, strata.chat_store())
        cluster = Strata.connect(args.cluster) if args.cluster else None
        if cluster:
            bench_docstore("strata 3 nodes", cluster.docstore("bench"), nodes, rng, args.queries, cluster.chat_store())
        if "simple" not in skip:
            from llama_index.core.storage.chat_store import SimpleChatStore

            bench_docstore("SimpleDocumentStore", SimpleDocumentStore(), nodes, rng, args.queries, SimpleChatStore())
        if "redis" not in skip:
            from llama_index.storage.chat_store.redis import RedisChatStore
            from llama_index.storage.docstore.redis import RedisDocumentStore

            port = free_port()
            rdir = os.path.join(work, "redis")
            os.makedirs(rdir)
            redis = subprocess.Popen(["redis-server", "--port", str(port), "--dir", rdir, "--appendonly", "yes",
                                      "--appendfsync", "always", "--save", ""], stdout=subprocess.DEVNULL)
            time.sleep(0.5)
            rdoc = RedisDocumentStore.from_host_and_port("127.0.0.1", port, namespace="bench")
            rchat = RedisChatStore(redis_url=f"redis://127.0.0.1:{port}")
            bench_docstore("RedisDocumentStore (appendfsync always)", rdoc, nodes, rng, args.queries, rchat)
        embs = vectors(args.vectors)
        bench_retrieval("strata embedded", strata.vector_store("bench"), embs, args.queries)
        if cluster:
            bench_retrieval("strata 3 nodes", cluster.vector_store("bench"), embs, args.queries)
        if "simple" not in skip:
            bench_retrieval("SimpleVectorStore", SimpleVectorStore(), embs, min(args.queries, 20))
    finally:
        if redis:
            redis.terminate()
            redis.wait()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
