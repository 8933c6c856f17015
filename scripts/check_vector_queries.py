#!/usr/bin/env python3
"""Random vector queries answered by llama-index-core and by `strata vector query`.

Usage: check_vector_queries.py STRATA_BIN WORK_DIR [--seed N] [--nodes N] [--queries N]
                               [--cluster ADDRS]

Builds a SimpleVectorStore of random nodes (varied metadata types, missing keys, nodes
with and without a source document), persists it as a LlamaIndex persist dir, imports
that into an embedded Strata data dir (or a running cluster), then asks both the same random queries: every
filter operator with fitting and ill-typed values, AND / OR / NOT, node_ids, top-k, and
MMR with and without `mmr_threshold`. Where llama-index-core answers, Strata must give
the same ids in the same order and similarities within 1e-6; where it raises, Strata
must refuse the query. Queries whose meaning Strata deliberately changes (nested
filters, doc_ids, top-k 0; docs/compatibility.md) are not generated; top-k None is.
Prints one closing line "check: N passed, M failed" and exits non-zero on any failure.
"""

import argparse
import json
import os
import random
import struct
import subprocess
import sys

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

DIM = 8
CATS = ["alpha", "beta", "gamma", "Alpha", "delta epsilon"]
TAGS = ["red", "green", "blue", "cyan", "magenta"]
WORDS = ["raft", "quorum", "Snapshot", "vector", "index", "shard", "Leader", "log"]
KEYS = ["cat", "year", "score", "tags", "flag", "title", "maybe", "mixed",
        "ref_doc_id", "doc_id", "document_id", "_node_type", "no_such_key"]


def f32(x: float) -> float:
    """The nearest float32, so both sides rank the very same numbers."""
    return struct.unpack("f", struct.pack("f", x))[0]


def make_nodes(rng: random.Random, n: int):
    nodes = []
    for i in range(n):
        md = {
            "cat": rng.choice(CATS),
            "year": rng.randint(2000, 2025),
            "score": rng.choice([round(rng.random(), 3), rng.randint(0, 2)]),
            "tags": sorted(rng.sample(TAGS, rng.randint(0, 3))),
            "title": " ".join(rng.sample(WORDS, rng.randint(0, 3))),
        }
        if rng.random() < 0.5:
            md["flag"] = rng.random() < 0.5
        r = rng.random()
        if r < 0.3:
            md["maybe"] = None
        elif r < 0.6:
            md["maybe"] = rng.choice(["", "x", "yes"])
        if rng.random() < 0.05:
            md["mixed"] = rng.choice([7, "seven", 7.5, ["seven"]])
        if rng.random() < 0.2:
            # Values whose JSON spelling is easy to get wrong: floats Python prints in
            # exponent form, big ints, escapes, non-ASCII text, nesting.
            md["extra"] = rng.choice([
                1e16, 1.5e-7, 0.1 + 0.2, -0.0, 2 ** 62, 123456789.125,
                "caf\u00e9 \u6570\u636e \U0001F600 \"quoted\" \\ \t tab",
                {"nested": [1, 2.5, None, True, {"deep": "x"}]},
            ])
        rel = {}
        if rng.random() < 0.8:
            rel[NodeRelationship.SOURCE] = RelatedNodeInfo(node_id=f"doc-{rng.randint(0, 40)}")
        # Some nodes repeat an earlier embedding (the same chunk text embedded twice):
        # exactly equal similarities, whose order LlamaIndex's heap decides.
        if nodes and rng.random() < 0.1:
            emb = list(rng.choice(nodes).embedding)
        else:
            emb = [f32(rng.gauss(0.0, 1.0)) for _ in range(DIM)]
        nodes.append(TextNode(id_=f"node-{i:04d}", text=f"text {i}", metadata=md,
                              relationships=rel, embedding=emb))
    return nodes


def value_for(rng: random.Random, key: str, op: FilterOperator):
    """A filter value: usually one that fits the key's type, sometimes one that does not."""
    wrong = rng.random() < 0.12
    scalars = {
        "cat": lambda: rng.choice(CATS),
        "year": lambda: rng.randint(1999, 2026),
        "score": lambda: rng.choice([round(rng.random(), 3), rng.randint(0, 2)]),
        "tags": lambda: rng.choice(TAGS),
        "flag": lambda: rng.choice([0, 1]),
        "title": lambda: rng.choice(WORDS),
        "maybe": lambda: rng.choice(["", "x", "yes"]),
        "mixed": lambda: rng.choice([7, "seven", 7.5]),
        "ref_doc_id": lambda: rng.choice([f"doc-{rng.randint(0, 40)}", "None"]),
        "doc_id": lambda: f"doc-{rng.randint(0, 40)}",
        "document_id": lambda: rng.choice([f"doc-{rng.randint(0, 40)}", "None"]),
        "_node_type": lambda: rng.choice(["TextNode", "Document"]),
        "no_such_key": lambda: "x",
    }
    one = scalars[key]
    if wrong:
        one = lambda: rng.choice([3, 2.5, "zzz"])
    if op in (FilterOperator.IN, FilterOperator.NIN, FilterOperator.ANY, FilterOperator.ALL):
        vals = [one() for _ in range(rng.randint(1, 3))]
        # LlamaIndex's strict list types: one element type per list.
        if len({type(v) for v in vals}) > 1:
            vals = [v for v in vals if type(v) is type(vals[0])]
        return vals
    if op == FilterOperator.IS_EMPTY:
        return None
    if op in (FilterOperator.TEXT_MATCH, FilterOperator.TEXT_MATCH_INSENSITIVE):
        v = one()
        if isinstance(v, str) and len(v) > 2 and rng.random() < 0.5:
            start = rng.randint(0, len(v) - 2)
            v = v[start:start + 2]
            if rng.random() < 0.5:
                v = v.upper()
        return v
    return one()


def make_filters(rng: random.Random):
    filters = []
    for _ in range(rng.randint(0 if rng.random() < 0.1 else 1, 3)):
        key = rng.choice(KEYS)
        op = rng.choice(list(FilterOperator))
        try:
            filters.append(MetadataFilter(key=key, operator=op, value=value_for(rng, key, op)))
        except Exception:  # a value LlamaIndex's own model refuses: not a query anyone sends
            continue
    condition = rng.choice([FilterCondition.AND, FilterCondition.OR, FilterCondition.NOT, None])
    return MetadataFilters(filters=filters, condition=condition)


def make_query(rng: random.Random, ids):
    filters = make_filters(rng) if rng.random() < 0.75 else None
    node_ids = None
    if rng.random() < 0.25:
        node_ids = rng.sample(ids, rng.randint(0, 60)) + (["node-missing"] if rng.random() < 0.3 else [])
    mode = VectorStoreQueryMode.MMR if rng.random() < 0.2 else VectorStoreQueryMode.DEFAULT
    kwargs = {}
    if mode == VectorStoreQueryMode.MMR and rng.random() < 0.7:
        kwargs["mmr_threshold"] = rng.choice([0.0, 0.2, 0.5, 0.8, 1.0])
    q = VectorStoreQuery(
        query_embedding=[f32(rng.gauss(0.0, 1.0)) for _ in range(DIM)],
        similarity_top_k=rng.choice([1, 2, 3, 5, 10, 25, 1000, None]),
        filters=filters, node_ids=node_ids, mode=mode,
    )
    as_json = {
        "query_embedding": q.query_embedding,
        "similarity_top_k": q.similarity_top_k,
        "mode": mode.value,
        "node_ids": node_ids,
        "filters": filters.model_dump(mode="json") if filters else None,
        "query_kwargs": kwargs,
    }
    return q, kwargs, as_json


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("strata")
    ap.add_argument("work")
    ap.add_argument("--seed", type=int, default=20261126)
    ap.add_argument("--nodes", type=int, default=600)
    ap.add_argument("--queries", type=int, default=300)
    ap.add_argument("--cluster", help="client addresses of a running cluster, instead of a data dir")
    args = ap.parse_args()
    rng = random.Random(args.seed)

    nodes = make_nodes(rng, args.nodes)
    store = SimpleVectorStore()
    store.add(nodes)
    persist = os.path.join(args.work, "persist")
    os.makedirs(persist, exist_ok=True)
    store.persist(os.path.join(persist, "default__vector_store.json"))
    target = (["--cluster", args.cluster] if args.cluster
              else ["--data", os.path.join(args.work, "data")])
    subprocess.run([args.strata, "import", persist, *target], check=True,
                   stdout=subprocess.DEVNULL)

    # The import exports back to llama-index-core's very bytes.
    exported = os.path.join(args.work, "export")
    subprocess.run([args.strata, "export", exported, *target], check=True, stdout=subprocess.DEVNULL)
    name = "default__vector_store.json"
    with open(os.path.join(persist, name), "rb") as a, open(os.path.join(exported, name), "rb") as b:
        same_file = a.read() == b.read()
    if not same_file:
        print(f"FAIL export: {name} differs from the file llama-index-core wrote")

    ids = [n.node_id for n in nodes]
    passed, failed = (1, 0) if same_file else (0, 1)
    answered = refused = 0
    for i in range(args.queries):
        q, kwargs, as_json = make_query(rng, ids)
        try:
            res = store.query(q, **kwargs)
            want = (list(res.ids), [float(s) for s in res.similarities])
        except Exception as e:  # LlamaIndex refuses the query (TypeError, ...)
            want = e
        got = subprocess.run([args.strata, "vector", "query", "--namespace", "default",
                              *target], input=json.dumps(as_json),
                             capture_output=True, text=True)
        label = f"query {i} {json.dumps(as_json)[:2000]}"
        if isinstance(want, Exception):
            refused += 1
            if got.returncode == 0:
                failed += 1
                print(f"FAIL {label}\n  llama-index-core raised {type(want).__name__}: {want}\n"
                      f"  strata answered {got.stdout[:500]}")
            else:
                passed += 1
            continue
        answered += 1
        if got.returncode != 0:
            failed += 1
            print(f"FAIL {label}\n  llama-index-core answered {want[0][:10]}\n"
                  f"  strata refused: {got.stderr.strip()[:500]}")
            continue
        out = json.loads(got.stdout)
        same = (out["ids"] == want[0] and len(out["similarities"]) == len(want[1])
                and all(abs(a - b) <= 1e-6 for a, b in zip(out["similarities"], want[1])))
        if same:
            passed += 1
        else:
            failed += 1
            print(f"FAIL {label}\n  llama-index-core {want[0][:10]} {want[1][:10]}\n"
                  f"  strata           {out['ids'][:10]} {out['similarities'][:10]}")
    print(f"({answered} answered, {refused} refused by llama-index-core)")
    print(f"check: {passed} passed, {failed} failed")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
