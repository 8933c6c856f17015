#!/usr/bin/env python3
"""Random graphs and random calls answered by llama-index-core's simple graph stores and
by Strata (`strata graph batch`), embedded or on a cluster.

Usage: check_graph_stores.py STRATA_BIN WORK_DIR [--seed N] [--rounds N] [--cluster ADDRS]

Property graph: the same random upserts (entities and chunks with varied property types,
re-upserts that replace a node or change its label, relations between existing and
missing nodes, repeated triplets) go to a SimplePropertyGraphStore and to Strata; then
random `get`, `get_triplets`, `get_rel_map` and `delete` calls must answer alike:
  * `get`: the same nodes in the same (insertion) order;
  * `get_triplets`: the same triplets (LlamaIndex keeps them in a set: compared as one);
  * `get_rel_map`: upstream main's contract (each triplet once, breadth-first over both
    directions, exact depth, ignored relations traversed but not counted), computed here
    from llama-index-core's own `get_triplets(ids=...)` level by level; where `limit`
    cuts a level, Strata's answer holds every earlier level and that many of the cut one;
  * `delete`: upstream main's contract (docs/compatibility.md) applied to the
    SimplePropertyGraphStore's data, then both stores compared whole.
Triplet store: random `upsert_triplet`, `delete` (the intended one: 0.14.25's never
deletes), `get` and `get_rel_map` against a SimpleGraphStore, answers equal exactly.
Finally Strata's export loads in llama-index-core and equals the simple stores' data.
Prints "check: N passed, M failed" and exits non-zero on any failure.
"""

import argparse
import json
import os
import random
import subprocess
import sys

from llama_index.core.graph_stores import SimpleGraphStore, SimplePropertyGraphStore
from llama_index.core.graph_stores.types import ChunkNode, EntityNode, Relation
from llama_index.core import StorageContext

NAMES = ["Ada", "Bob", "Carol", "Dave", "Eve", "Frank", "Grace", "Heidi", "Ivan", "Judy", "Mallory", "Niaj",
         "Olivia", "Peggy", "Rupert", "Sybil", "Trent", "Victor", "Walter", "caf\u00e9 \u6570\u636e"]
LABELS = ["PERSON", "PLACE", "THING", "entity"]
RELS = ["KNOWS", "LIKES", "WORKS AT", "MENTIONS", "R"]
KEYS = ["k", "n", "flag", "tags", "src", "missing"]

passed = failed = 0


def check(name, ok, detail=""):
    global passed, failed
    if ok:
        passed += 1
    else:
        failed += 1
        print(f"FAIL {name} {detail}"[:2000])


def value(rng):
    return rng.choice([
        rng.randint(0, 3), float(rng.randint(0, 3)), rng.random() < 0.5, rng.choice(["a", "b", "c"]),
        None, [rng.randint(0, 2)], {"x": rng.randint(0, 1)},
    ])


def props(rng):
    return {k: value(rng) for k in rng.sample(KEYS[:5], rng.randint(0, 3))}


def random_node(rng):
    if rng.random() < 0.2:
        i = rng.randint(0, 9)
        return ChunkNode(text=f"chunk text {i} {rng.choice(['x', 'y'])}", id_=f"chunk-{i}", properties=props(rng))
    return EntityNode(name=rng.choice(NAMES), label=rng.choice(LABELS), properties=props(rng))


def random_relation(rng, known):
    pool = known + [n for n in NAMES if rng.random() < 0.1]
    return Relation(label=rng.choice(RELS), source_id=rng.choice(pool), target_id=rng.choice(pool),
                    properties=props(rng))


class Strata:
    def __init__(self, binary, target):
        self.binary, self.target = binary, target

    def batch(self, calls):
        out = subprocess.run([self.binary, "graph", "batch", *self.target], input=json.dumps(calls),
                             capture_output=True, text=True, timeout=600)
        if out.returncode != 0:
            raise RuntimeError(f"strata graph batch failed: {out.stderr}")
        return json.loads(out.stdout)

    def call(self, **call):
        answer = self.batch([call])[0]
        if "error" in answer:
            raise RuntimeError(answer["error"]["message"])
        return answer["ok"]


def node_dict(n):
    return json.loads(n.model_dump_json())


def same_node(a, b):
    """Strata keeps embeddings as float32: compare those within 1e-6."""
    a, b = dict(a), dict(b)
    ea, eb = a.pop("embedding"), b.pop("embedding")
    if (ea is None) != (eb is None):
        return False
    if ea is not None and (len(ea) != len(eb) or any(abs(x - y) > 1e-6 for x, y in zip(ea, eb))):
        return False
    return a == b


def same_nodes(got, want):
    return len(got) == len(want) and all(same_node(g, w) for g, w in zip(got, want))


def trip_key(t):
    if isinstance(t, (list, tuple)) and isinstance(t[0], dict):
        return (t[0]["label"], t[0].get("name", t[0].get("id_")), t[1]["label"], t[2].get("name", t[2].get("id_")),
                json.dumps(t[1]["properties"], sort_keys=True))
    s, r, o = t
    return (s.label, s.id, r.label, o.id, json.dumps(r.properties, sort_keys=True))


def ids3(t):
    if isinstance(t[0], dict):
        return (node_id(t[0]), t[1]["label"], node_id(t[2]))
    return (t[0].id, t[1].label, t[2].id)


def node_id(d):
    return d["id_"] if "text" in d else d["name"].replace('"', " ")


def main_rel_map(store, seeds, depth, limit, ignore):
    """Upstream main's get_rel_map from llama-index-core's get_triplets, as levels."""
    levels, seen, visited = [], set(), set()
    frontier = []
    for s in seeds:
        if s not in visited:
            visited.add(s)
            frontier.append(s)
    for _ in range(depth):
        if not frontier:
            break
        level, nxt = [], []
        for node in frontier:
            for t in store.get_triplets(ids=[node]):
                key = ids3(t)
                if key in seen:
                    continue
                seen.add(key)
                other = t[2].id if t[0].id == node else t[0].id
                if other not in visited:
                    visited.add(other)
                    nxt.append(other)
                if t[1].label not in ignore:
                    level.append(key)
        levels.append(level)
        frontier = nxt
    return levels


def rel_map_ok(got, levels, limit):
    got = [ids3(t) for t in got]
    if len(got) != len(set(got)):
        return False
    remaining, at = limit, 0
    for level in levels:
        if remaining <= 0:
            break
        take = min(len(level), remaining)
        part = got[at:at + take]
        if len(part) != take or not set(part) <= set(level):
            return False
        if take == len(level) and set(part) != set(level):
            return False
        at += take
        remaining -= take
    return at == len(got)


def main_delete(store, entity_names=None, relation_names=None, properties=None, ids=None):
    """Upstream main's delete on a SimplePropertyGraphStore's data (0.14.25 deletes every
    node for some selectors and both ends of every triplet)."""
    entity_names, relation_names, properties, ids = entity_names or [], relation_names or [], properties or {}, ids or []
    if not (entity_names or relation_names or properties or ids):
        return
    g = store.graph
    doomed_triplets = {ids3(t) for t in store.get_triplets(entity_names=entity_names, relation_names=relation_names,
                                                           properties=properties, ids=ids)}
    doomed_nodes = set()
    if not relation_names and (ids or entity_names or properties):
        for n in list(g.nodes.values()):
            if ids and n.id not in ids:
                continue
            if entity_names and n.id not in entity_names:
                continue
            if properties and not any(n.properties.get(k) == v for k, v in properties.items()):
                continue
            doomed_nodes.add(n.id)
        doomed_triplets |= {t for t in g.triplets if t[0] in doomed_nodes or t[2] in doomed_nodes}
    ends = set()
    for t in doomed_triplets:
        g.triplets.discard(t)
        g.relations.pop(f"{t[0]}_{t[1]}_{t[2]}", None)
        ends |= {t[0], t[2]}
    for n in doomed_nodes:
        g.nodes.pop(n, None)
    for e in ends - doomed_nodes:
        if not any(t[0] == e or t[2] == e for t in g.triplets):
            g.nodes.pop(e, None)


def compare_whole(name, strata, store):
    got = strata.call(op="get")
    want = [node_dict(n) for n in store.graph.nodes.values()]
    check(f"{name}: nodes", same_nodes(got, want), f"\n got {got}\nwant {want}")
    got = sorted(tuple(map(str, (r["source_id"], r["label"], r["target_id"], json.dumps(r["properties"], sort_keys=True))))
                 for r in strata.call(op="relations"))
    want = sorted((s, l, o, json.dumps(store.graph.relations[f"{s}_{l}_{o}"].properties, sort_keys=True))
                  for s, l, o in store.graph.triplets)
    check(f"{name}: relations", got == want, f"\n got {got}\nwant {want}")


def random_selector(rng, store):
    ids = list(store.graph.nodes) or NAMES
    sel = {}
    for key in rng.sample(["entity_names", "relation_names", "properties", "ids"], rng.randint(1, 2)):
        if key == "relation_names":
            sel[key] = rng.sample(RELS, rng.randint(1, 2))
        elif key == "properties":
            sel[key] = {k: value(rng) for k in rng.sample(KEYS, rng.randint(1, 2))}
        else:
            sel[key] = rng.sample(ids, min(len(ids), rng.randint(1, 3)))
    return sel


def property_graph(rng, strata, rounds):
    store = SimplePropertyGraphStore()
    known = []
    for r in range(rounds):
        nodes = [random_node(rng) for _ in range(rng.randint(1, 8))]
        # One call takes one embedding size: some entities carry 4-d embeddings.
        for n in nodes:
            if isinstance(n, EntityNode) and rng.random() < 0.3:
                n.embedding = [round(rng.uniform(-1, 1), 6) for _ in range(4)]
        store.upsert_nodes(nodes)
        strata.call(op="upsert_nodes", nodes=[node_dict(n) for n in nodes])
        known += [n.id for n in nodes]
        rels = [random_relation(rng, known) for _ in range(rng.randint(0, 10))]
        store.upsert_relations(rels)
        strata.call(op="upsert_relations", relations=[json.loads(x.model_dump_json()) for x in rels])
        compare_whole(f"round {r} upserts", strata, store)
        calls, wants = [], []
        for _ in range(25):
            kind = rng.choice(["get", "get", "get_triplets", "get_triplets", "rel_map", "rel_map", "rel_map"])
            pool = list(store.graph.nodes) + ["nobody"]
            if kind == "get":
                props_sel = {k: value(rng) for k in rng.sample(KEYS, rng.randint(0, 2))} if rng.random() < 0.6 else None
                ids = rng.sample(pool, min(len(pool), rng.randint(0, 4))) if rng.random() < 0.6 else None
                calls.append({"op": "get", "properties": props_sel, "ids": ids})
                wants.append(("get", [node_dict(n) for n in store.get(properties=props_sel, ids=ids)]))
            elif kind == "get_triplets":
                sel = random_selector(rng, store) if rng.random() < 0.9 else {}
                calls.append({"op": "get_triplets", **sel})
                wants.append(("triplets", sorted(ids3(t) for t in store.get_triplets(**sel))))
            else:
                seeds = rng.sample(pool, min(len(pool), rng.randint(1, 3)))
                depth, limit = rng.randint(0, 3), rng.choice([0, 1, 2, 5, 30])
                ignore = rng.sample(RELS, rng.randint(0, 1))
                calls.append({"op": "get_rel_map", "ids": seeds, "depth": depth, "limit": limit, "ignore_rels": ignore})
                wants.append(("rel_map", (main_rel_map(store, seeds, depth, limit, ignore), limit)))
        for call, answer, (kind, want) in zip(calls, strata.batch(calls), wants):
            name = f"round {r} {json.dumps(call)}"
            if "error" in answer:
                check(name, False, answer["error"]["message"])
            elif kind == "get":
                check(name, same_nodes(answer["ok"], want), f"\n got {answer['ok']}\nwant {want}")
            elif kind == "triplets":
                got = sorted(ids3(t) for t in answer["ok"])
                check(name, got == want, f"\n got {got}\nwant {want}")
            else:
                levels, limit = want
                check(name, rel_map_ok(answer["ok"], levels, limit), f"\n got {[ids3(t) for t in answer['ok']]}\nwant {levels}")
        if rng.random() < 0.6:
            sel = random_selector(rng, store) if rng.random() < 0.9 else {}
            main_delete(store, **sel)
            strata.call(op="delete", **sel)
            compare_whole(f"round {r} delete {json.dumps(sel)}", strata, store)
    return store


def triplet_store(rng, strata, rounds):
    store = SimpleGraphStore()
    subjects = NAMES[:8]
    for r in range(rounds):
        for _ in range(rng.randint(1, 15)):
            s, rel, o = rng.choice(subjects), rng.choice(RELS), rng.choice(subjects)
            if rng.random() < 0.8:
                store.upsert_triplet(s, rel, o)
                strata.call(op="upsert_triplet", subj=s, rel=rel, obj=o)
            else:
                # The intended delete (0.14.25 compares a tuple with the stored lists).
                pairs = store._data.graph_dict.get(s, [])
                if [rel, o] in pairs:
                    pairs.remove([rel, o])
                    if not pairs:
                        del store._data.graph_dict[s]
                strata.call(op="delete_triplet", subj=s, rel=rel, obj=o)
        calls, wants = [], []
        for _ in range(10):
            if rng.random() < 0.3:
                s = rng.choice(subjects + ["nobody"])
                calls.append({"op": "triplet_get", "subj": s})
                wants.append(store.get(s))
            else:
                subjs = rng.sample(subjects + ["nobody"], rng.randint(1, 3)) if rng.random() < 0.8 else None
                depth, limit = rng.randint(0, 3), rng.choice([1, 3, 10, 30])
                calls.append({"op": "triplet_rel_map", "subjs": subjs, "depth": depth, "limit": limit})
                wants.append([[k, v] for k, v in store.get_rel_map(subjs, depth=depth, limit=limit).items()])
        for call, answer, want in zip(calls, strata.batch(calls), wants):
            check(f"triplets round {r} {json.dumps(call)}", answer.get("ok") == want, f"\n got {answer}\nwant {want}")
    return store


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("strata")
    ap.add_argument("work")
    ap.add_argument("--seed", type=int, default=11)
    ap.add_argument("--rounds", type=int, default=12)
    ap.add_argument("--cluster")
    args = ap.parse_args()
    rng = random.Random(args.seed)
    target = ["--cluster", args.cluster] if args.cluster else ["--data", os.path.join(args.work, "data")]
    strata = Strata(args.strata, target)
    pg = property_graph(rng, strata, args.rounds)
    triplets = triplet_store(rng, strata, args.rounds)
    export = os.path.join(args.work, "export")
    subprocess.run([args.strata, "export", export, *target], check=True, capture_output=True)
    ctx = StorageContext.from_defaults(persist_dir=export)
    check("export: graph_store.json", ctx.graph_store._data.graph_dict == triplets._data.graph_dict)
    loaded = ctx.property_graph_store
    if pg.graph.nodes:
        check("export: property graph nodes",
              same_nodes([node_dict(n) for n in loaded.graph.nodes.values()], [node_dict(n) for n in pg.graph.nodes.values()]))
        check("export: property graph triplets", loaded.graph.triplets == pg.graph.triplets)
        check("export: relations", {k: v.properties for k, v in loaded.graph.relations.items()}
              == {f"{s}_{l}_{o}": pg.graph.relations[f"{s}_{l}_{o}"].properties for s, l, o in pg.graph.triplets})
    print(f"check: {passed} passed, {failed} failed")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
