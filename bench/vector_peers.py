"""Vector search peers for `cargo bench -p strata-chaos --bench vector`, on the same files.

    .venv-bench/bin/python bench/vector_peers.py DATA_DIR SET_NAME SIMPLE_N

DATA_DIR holds base.npy, queries.npy (unit-length f32) and gt10.npy (exact top-10). Prints
markdown rows: hnswlib and faiss HNSW (M=16, ef_construction=200, built on 2 threads)
over a sweep of ef, single-query latency on one thread and batch throughput on 2; faiss's
exact flat index; llama-index-core's SimpleVectorStore over the first SIMPLE_N vectors
(0: skipped). Memory is resident-set growth per vector.
"""

import sys
import time

import numpy as np


def rss():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0


def recall(got, truth):
    hits = sum(len(set(g[:10]) & set(t[:10])) for g, t in zip(got, truth))
    return hits / (10 * len(truth))


def row(system, name, build, rec, qps, p99, cqps, mem, note):
    b = "–" if build is None else f"{build:.1f}"
    m = "–" if mem is None else f"{mem:.0f}"
    c = "–" if cqps is None else f"{cqps:.0f}"
    q = f"{qps:.2f}" if qps < 10 else f"{qps:.0f}"
    print(f"| {system} | {name} | {b} | {rec:.3f} | {q} | {p99 * 1e3:.2f} | {c} | {m} | {note} |", flush=True)


def single(search, queries):
    lat = []
    got = []
    start = time.perf_counter()
    for q in queries:
        t = time.perf_counter()
        got.append(search(q))
        lat.append(time.perf_counter() - t)
    total = time.perf_counter() - start
    lat.sort()
    return got, len(queries) / total, lat[min(len(lat) - 1, len(lat) * 99 // 100)]


def hnswlib_rows(base, queries, truth, name):
    import hnswlib

    before = rss()
    t = time.perf_counter()
    index = hnswlib.Index(space="ip", dim=base.shape[1])
    index.init_index(max_elements=base.shape[0], M=16, ef_construction=200)
    index.add_items(base, np.arange(base.shape[0]), num_threads=2)
    build = time.perf_counter() - t
    mem = (rss() - before) / base.shape[0]
    for ef in (16, 32, 64, 128, 256):
        index.set_ef(ef)
        index.set_num_threads(1)
        got, qps, p99 = single(lambda q: index.knn_query(q, k=10)[0][0], queries)
        index.set_num_threads(2)
        t = time.perf_counter()
        index.knn_query(queries, k=10, num_threads=2)
        cqps = len(queries) / (time.perf_counter() - t)
        row("hnswlib 0.8 (Python)", name, build, recall(got, truth), qps, p99, cqps, mem, f"ef={ef}; concurrent = one batch on 2 threads")


def faiss_rows(base, queries, truth, name):
    import faiss

    faiss.omp_set_num_threads(2)
    before = rss()
    t = time.perf_counter()
    index = faiss.IndexHNSWFlat(base.shape[1], 16, faiss.METRIC_INNER_PRODUCT)
    index.hnsw.efConstruction = 200
    index.add(base)
    build = time.perf_counter() - t
    mem = (rss() - before) / base.shape[0]
    for ef in (16, 32, 64, 128, 256):
        index.hnsw.efSearch = ef
        faiss.omp_set_num_threads(1)
        got, qps, p99 = single(lambda q: index.search(q.reshape(1, -1), 10)[1][0], queries)
        faiss.omp_set_num_threads(2)
        t = time.perf_counter()
        index.search(queries, 10)
        cqps = len(queries) / (time.perf_counter() - t)
        row(f"faiss {faiss.__version__} HNSWFlat (Python)", name, build, recall(got, truth), qps, p99, cqps, mem, f"efSearch={ef}")
    flat = faiss.IndexFlatIP(base.shape[1])
    flat.add(base)
    faiss.omp_set_num_threads(1)
    few = queries[:200]
    got, qps, p99 = single(lambda q: flat.search(q.reshape(1, -1), 10)[1][0], few)
    row("faiss IndexFlatIP (exact)", name, None, recall(got, truth[:200]), qps, p99, None, None, "one thread")


def simple_rows(base, queries, name, n):
    from llama_index.core.schema import TextNode
    from llama_index.core.vector_stores import SimpleVectorStore
    from llama_index.core.vector_stores.types import VectorStoreQuery

    sub = base[:n]
    before = rss()
    t = time.perf_counter()
    store = SimpleVectorStore()
    nodes = [TextNode(id_=str(i), text="", embedding=sub[i].tolist()) for i in range(n)]
    store.add(nodes)
    build = time.perf_counter() - t
    mem = (rss() - before) / n
    few = queries[: (50 if n <= 20_000 else 10)]
    exact = [list(np.argsort(-(sub @ q))[:10]) for q in few]
    got, qps, p99 = single(
        lambda q: [int(i) for i in store.query(VectorStoreQuery(query_embedding=q.tolist(), similarity_top_k=10)).ids],
        few,
    )
    import llama_index.core

    row(f"SimpleVectorStore (llama-index-core {llama_index.core.__version__})", f"{name}, first {n // 1000}k", build, recall(got, exact), qps, p99, None, mem, f"{len(few)} queries; exact by construction")


def main():
    data, name, simple = sys.argv[1], sys.argv[2], int(sys.argv[3])
    base = np.load(f"{data}/base.npy").astype(np.float32)
    queries = np.load(f"{data}/queries.npy").astype(np.float32)
    truth = np.load(f"{data}/gt10.npy")
    hnswlib_rows(base, queries, truth, name)
    faiss_rows(base, queries, truth, name)
    if simple:
        simple_rows(base, queries, name, simple)


if __name__ == "__main__":
    main()
