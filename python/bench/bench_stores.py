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
the store's and LlamaIndex's, not an embedding model's), timed once the HNSW graph
covers every vector; and the same queries from a Rust program over the same data
(`client/examples/query_latency.rs`, built with `cargo build --release -p strata-client
--example query_latency`) for what going through Python costs.
"""

import argparse
import json
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


def wait_for_index(vector_store, deadline_s=1800):
    """Waits until the HNSW graph covers every vector (until then a query also scans the
    vectors not yet in it exactly, which is not the figure wanted)."""
    t = time.perf_counter()
    while vector_store.index_stats()["unindexed"] > 0:
        if time.perf_counter() - t > deadline_s:
            raise RuntimeError("the HNSW graph did not cover the namespace in time")
        time.sleep(0.2)
    return time.perf_counter() - t


def bench_retrieval(name, vector_store, embs, queries, storage_context=None):
    from llama_index.core import StorageContext
    from llama_index.core.embeddings import MockEmbedding

    nodes = [TextNode(id_=f"v-{i}", text=f"vector {i}", embedding=embs[i].tolist()) for i in range(len(embs))]
    ctx = storage_context or StorageContext.from_defaults(vector_store=vector_store)
    t = time.perf_counter()
    # The nodes carry their embeddings: building the index embeds nothing, it adds.
    index = VectorStoreIndex(nodes, storage_context=ctx, embed_model=MockEmbedding(embed_dim=DIM), insert_batch_size=10000)
    load = len(nodes) / (time.perf_counter() - t)
    row = {"backend": name, "vector add nodes/s": f"{load:,.0f}"}
    if hasattr(vector_store, "index_stats"):
        row["index wait s"] = f"{wait_for_index(vector_store):.1f}"
    retriever = index.as_retriever(similarity_top_k=10)
    qs = query_vectors(queries)
    bundles = [QueryBundle(query_str="q", embedding=q.tolist()) for q in qs]
    for bundle in bundles:  # one warm-up round, as the Rust side has
        retriever.retrieve(bundle)
    lat = []
    for bundle in bundles:
        t = time.perf_counter()
        got = retriever.retrieve(bundle)
        lat.append(time.perf_counter() - t)
        assert len(got) == 10
    row["retrieve top10 p50 ms"] = f"{pct(lat, 0.5):.3f}"
    row["p99 ms"] = f"{pct(lat, 0.99):.3f}"
    print(row, flush=True)
    return row


def retriever_floor(queries):
    """What LlamaIndex's retriever costs by itself: the same retrieve over a
    SimpleVectorStore of 10 nodes, where the search is next to nothing."""
    from llama_index.core import StorageContext
    from llama_index.core.embeddings import MockEmbedding

    embs = vectors(10, rng_seed=5)
    nodes = [TextNode(id_=f"f-{i}", text=f"floor {i}", embedding=embs[i].tolist()) for i in range(10)]
    ctx = StorageContext.from_defaults(vector_store=SimpleVectorStore())
    retriever = VectorStoreIndex(nodes, storage_context=ctx, embed_model=MockEmbedding(embed_dim=DIM)).as_retriever(
        similarity_top_k=10)
    bundles = [QueryBundle(query_str="q", embedding=q.tolist()) for q in query_vectors(queries)]
    for bundle in bundles:
        retriever.retrieve(bundle)
    lat = []
    for bundle in bundles:
        t = time.perf_counter()
        retriever.retrieve(bundle)
        lat.append(time.perf_counter() - t)
    row = {"backend": "LlamaIndex retriever alone (SimpleVectorStore, 10 nodes)",
           "retrieve top10 p50 ms": f"{pct(lat, 0.5):.3f}", "p99 ms": f"{pct(lat, 0.99):.3f}"}
    print(row, flush=True)


def query_vectors(n):
    return vectors(n, rng_seed=99)


def rust_latency(row, binary, namespace, queries, work, **target):
    """The same queries from Rust (`client/examples/query_latency.rs`): `data=DIR` (the
    Python handle on it closed first) or `cluster=ADDRS`."""
    path = os.path.join(work, "queries.f32")
    query_vectors(queries).astype("<f4").tofile(path)
    where = ["--data", target["data"]] if "data" in target else ["--cluster", target["cluster"]]
    out = subprocess.run([binary, *where, "--namespace", namespace, "--queries", path, "--dim", str(DIM),
                          "--top-k", "10"], check=True, capture_output=True, text=True).stdout
    got = json.loads(out.strip().splitlines()[-1])
    row["rust p50 ms"], row["rust p99 ms"] = f"{got['p50_ms']:.3f}", f"{got['p99_ms']:.3f}"
    row["python / rust p50"] = f"{float(row['retrieve top10 p50 ms']) / got['p50_ms']:.2f}"
    print(row, flush=True)


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
    ap.add_argument("--rust-bin", default="target/release/examples/query_latency",
                    help="cargo build --release -p strata-client --example query_latency")
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
        if cluster:
            row = bench_retrieval("strata 3 nodes", cluster.vector_store("bench"), embs, args.queries)
            rust_latency(row, args.rust_bin, "bench", args.queries, work, cluster=args.cluster)
        row = bench_retrieval("strata embedded", strata.vector_store("bench"), embs, args.queries)
        strata.close()  # the directory is free for the Rust program
        rust_latency(row, args.rust_bin, "bench", args.queries, work, data=os.path.join(work, "data"))
        retriever_floor(args.queries)
        if "simple" not in skip:
            bench_retrieval("SimpleVectorStore", SimpleVectorStore(), embs, min(args.queries, 20))
    finally:
        if redis:
            redis.terminate()
            redis.wait()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
