#!/usr/bin/env python3
"""Markdown tables from `strata-chaos` soak output (one JSON summary line per seed).

    target/debug/strata-chaos --seeds 1..201 --minutes 2 --out DIR > soak.log
    python3 scripts/soak_table.py soak.log [more.log ...]
"""
import json
import sys
from collections import Counter


def main(paths):
    runs = []
    for path in paths:
        with open(path) as f:
            runs += [json.loads(line) for line in f if line.startswith("{")]
    done = [r for r in runs if "panic" not in r]
    panics = [r for r in runs if "panic" in r]
    print(f"{len(runs)} runs ({len(panics)} ended by a panic), seeds "
          f"{min(r['seed'] for r in runs)}..{max(r['seed'] for r in runs)}; "
          f"{sum(r['passed'] for r in runs)} passed\n")
    print("| workload | operations | acknowledged writes | linearizability violations | undecided keys | acknowledged writes lost | phantom | misordered | torn |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    s = lambda k: sum(r.get(k, 0) for r in done)
    print(f"| KV registers (put, get, put_all) | {s('register_operations'):,} | – | {s('linearizability_violations')} | {s('undecided_keys')} | – | – | – | – |")
    stores = Counter()
    for r in done:
        stores.update(r.get("store_operations_by_store", {}))
    for name in ["chat", "docstore", "vector", "property_graph"]:
        print(f"| {name} | {stores[name]:,} | | – | – | | | | |")
    print(f"| stores, all | {s('store_operations'):,} | {s('acknowledged_store_writes'):,} | – | – | {s('acknowledged_writes_lost')} | {s('phantom')} | {s('misordered')} | {s('torn')} |")
    print(f"\nok operations (both workloads): {s('ok'):,} of {s('operations'):,}\n")
    print("| fault kind | faults injected | runs with it | runs failed among them |")
    print("| --- | ---: | ---: | ---: |")
    kinds = Counter()
    with_kind = Counter()
    failed_with = Counter()
    for r in done:
        for k, n in r.get("faults_by_kind", {}).items():
            kinds[k] += n
            with_kind[k] += 1
            failed_with[k] += not r["passed"]
    for k in ["partition", "delay", "kill", "pause", "kill-all", "membership"]:
        print(f"| {k} | {kinds[k]} | {with_kind[k]} | {failed_with[k]} |")
    print(f"\nreplicas diverged: {s('replicas_diverged')} (groups compared: {s('groups')}); "
          f"not caught up: {s('not_caught_up')}; final state unreadable: {sum(r.get('final_state_unreadable', False) for r in done)}")
    for r in runs:
        if not r["passed"]:
            print(f"FAILED seed {r['seed']}: {r.get('panic', '')}")


if __name__ == "__main__":
    main(sys.argv[1:])
