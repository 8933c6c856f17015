"""Graph peers for `cargo bench -p strata-chaos --bench graph`, on the same files.

    .venv-bench/bin/python bench/graph_peers.py DATA_DIR

DATA_DIR holds embeddings.npy (N x 384 f32), edges.npy (E x 3 i32: source, target, type),
queries.npy and seeds.npy. Prints markdown rows in the bench's columns:

* Kùzu (embedded, `kuzu` from PyPI): nodes and relations bulk-loaded with COPY from CSV
  (its fastest path; LlamaIndex's Kùzu store writes row by row); the rel map as
  LlamaIndex's graph stores ask it (distinct relationships on paths of 1..depth hops in
  either direction from the seed, first 30, with their ends' names); the same 2-hop
  Cypher query; reopen = open the database and answer one rel map. No vector search
  (Kùzu's vector index is an extension it downloads; this machine has no network).
* llama-index-core's SimplePropertyGraphStore: upsert_nodes / upsert_relations, its own
  get_rel_map (0.14.25: one pass over every triplet per hop), vector_query and Cypher
  unsupported; reopen = persist to JSON and load it back.
"""

import os
import shutil
import sys
import tempfile
import time

import numpy as np

LABELS = ["PERSON", "ORG", "PLACE", "EVENT", "THING"]
ROUNDS = 20


def pct(lat, p):
    lat = sorted(lat)
    return lat[min(len(lat) - 1, len(lat) * p // 100)] * 1e3


def ms(lat):
    return f"{pct(lat, 50):.2f} / {pct(lat, 99):.2f}"


def row(system, nodes, rels, hop1, hop2, vector, cypher, reopen, note):
    print(f"| {system} | {nodes:.0f} | {rels:.0f} | {hop1} | {hop2} | {vector} | {cypher} | {reopen} | {note} |", flush=True)


def rss():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0


def kuzu_run(data, emb, edges, seeds):
    import kuzu

    n = emb.shape[0]
    work = tempfile.mkdtemp(prefix="kuzu-bench-")
    with open(os.path.join(work, "nodes.csv"), "w") as f:
        for i in range(n):
            f.write(f"e{i},{LABELS[i % 5]},{i % 1000}\n")
    with open(os.path.join(work, "edges.csv"), "w") as f:
        for s, t, ty in edges:
            f.write(f"e{s},e{t},T{ty}\n")
    path = os.path.join(work, "db")
    db = kuzu.Database(path)
    conn = kuzu.Connection(db)
    conn.execute("CREATE NODE TABLE Entity(name STRING, label STRING, rank INT64, PRIMARY KEY(name))")
    conn.execute("CREATE REL TABLE LINKS(FROM Entity TO Entity, label STRING)")
    t = time.perf_counter()
    conn.execute(f"COPY Entity FROM '{work}/nodes.csv' (HEADER=false)")
    node_rate = n / (time.perf_counter() - t)
    t = time.perf_counter()
    conn.execute(f"COPY LINKS FROM '{work}/edges.csv' (HEADER=false)")
    rel_rate = len(edges) / (time.perf_counter() - t)

    # The fastest shapes found for Kùzu (distinct relationships through a join on internal
    # ids took 400-500 ms): depth 1 as a fixed one-hop pattern, depth 2 as a
    # variable-length pattern returning each path's names and labels, first 30 paths.
    def rel_map(c, seed, depth):
        if depth == 1:
            q = "MATCH (e:Entity {name: $name})-[r:LINKS]-(o) RETURN e.name, r.label, o.name LIMIT 30"
        else:
            q = (f"MATCH (e:Entity {{name: $name}})-[r:LINKS*1..{depth}]-(o) "
                 "RETURN properties(nodes(r), 'name'), properties(rels(r), 'label') LIMIT 30")
        r = c.execute(q, {"name": f"e{seed}"})
        out = []
        while r.has_next():
            out.append(r.get_next())
        return out

    hops = {}
    for depth in (1, 2):
        lat = []
        for _ in range(ROUNDS):
            for s in seeds:
                t = time.perf_counter()
                rel_map(conn, s, depth)
                lat.append(time.perf_counter() - t)
        hops[depth] = ms(lat)
    cypher = ("MATCH (a:Entity {name: $name})-[r1:LINKS]->(b:Entity)-[r2:LINKS]->(c:Entity) "
              "RETURN c.name AS name, count(*) AS paths ORDER BY paths DESC, name LIMIT 10")
    lat = []
    for _ in range(max(1, ROUNDS // 4)):
        for s in seeds:
            t = time.perf_counter()
            r = conn.execute(cypher, {"name": f"e{s}"})
            while r.has_next():
                r.get_next()
            lat.append(time.perf_counter() - t)
    cy = ms(lat)
    del conn
    del db
    t = time.perf_counter()
    db = kuzu.Database(path)
    conn = kuzu.Connection(db)
    rel_map(conn, seeds[0], 2)
    reopen = time.perf_counter() - t
    del conn
    del db
    shutil.rmtree(work, ignore_errors=True)
    row("Kùzu 0.11 embedded", node_rate, rel_rate, hops[1], hops[2], "–", cy, f"{reopen:.2f}",
        "COPY bulk load from CSV; rel map: depth 1 a one-hop pattern, depth 2 the first 30 paths of 1..2 hops, "
        "names and labels only; no vector index (an extension it downloads)")


def simple_run(data, emb, edges, seeds, queries):
    from llama_index.core.graph_stores import SimplePropertyGraphStore
    from llama_index.core.graph_stores.types import EntityNode, Relation

    n = emb.shape[0]
    store = SimplePropertyGraphStore()
    before = rss()
    t = time.perf_counter()
    for start in range(0, n, 1000):
        store.upsert_nodes([
            EntityNode(name=f"e{i}", label=LABELS[i % 5], properties={"rank": i % 1000}, embedding=emb[i].tolist())
            for i in range(start, min(n, start + 1000))
        ])
    node_rate = n / (time.perf_counter() - t)
    t = time.perf_counter()
    for start in range(0, len(edges), 10000):
        store.upsert_relations([
            Relation(label=f"T{ty}", source_id=f"e{s}", target_id=f"e{tg}") for s, tg, ty in edges[start:start + 10000]
        ])
    rel_rate = len(edges) / (time.perf_counter() - t)
    grew = (rss() - before) >> 20
    # 0.14.25's get_rel_map resolves every triplet on each hop, and its depth loop bumps
    # `depth` instead of its counter: past one hop it walks the whole component (11 s at
    # 10k entities). Large graphs: depth 1 from three seeds, depth 2 not run.
    big = n > 20_000
    hops = {}
    for depth in (1, 2):
        if big and depth == 2:
            hops[depth] = "not run"
            continue
        lat = []
        for s in seeds[:3] if big else seeds:
            t = time.perf_counter()
            store.get_rel_map([EntityNode(name=f"e{s}")], depth=depth, limit=30)
            lat.append(time.perf_counter() - t)
        hops[depth] = ms(lat)
    path = os.path.join(tempfile.mkdtemp(prefix="simple-pg-"), "property_graph_store.json")
    t = time.perf_counter()
    store.persist(path)
    persist = time.perf_counter() - t
    size = os.path.getsize(path) >> 20
    del store
    t = time.perf_counter()
    SimplePropertyGraphStore.from_persist_path(path)
    load = time.perf_counter() - t
    shutil.rmtree(os.path.dirname(path), ignore_errors=True)
    row("llama-index-core SimplePropertyGraphStore", node_rate, rel_rate, hops[1], hops[2], "unsupported",
        "unsupported", f"{load:.1f}",
        f"one round per seed{' (3 seeds)' if big else ''}; depth 2 walks the whole component in 0.14.25; memory +{grew} MiB; reopen = load of the {size} MiB JSON (persist took {persist:.1f} s)")


def main():
    data = sys.argv[1]
    emb = np.load(os.path.join(data, "embeddings.npy"))
    edges = np.load(os.path.join(data, "edges.npy")).tolist()
    seeds = [int(s) for s in np.load(os.path.join(data, "seeds.npy")).reshape(-1)]
    queries = np.load(os.path.join(data, "queries.npy"))
    try:
        kuzu_run(data, emb, edges, seeds)
    except Exception as e:  # noqa: BLE001 - a peer failing is reported, not fatal
        print(f"| (Kùzu failed: {e}) | | | | | | | | |")
    simple_run(data, emb, edges, seeds, queries)


if __name__ == "__main__":
    main()
