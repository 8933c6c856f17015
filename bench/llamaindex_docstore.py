#!/usr/bin/env python3
"""llama-index-core's SimpleDocumentStore on the nodes the Rust docstore bench wrote.

Usage: llamaindex_docstore.py NODES_JSONL PERSIST_PATH GET_IDS_JSON
Prints one JSON object with the timings (seconds) on stdout.
"""
import json
import sys
import time

from llama_index.core.storage.docstore import SimpleDocumentStore
from llama_index.core.storage.docstore.utils import json_to_doc

nodes_path, persist_path, ids_path = sys.argv[1:4]
nodes = [json_to_doc(json.loads(line)) for line in open(nodes_path)]
get_ids = json.load(open(ids_path))

store = SimpleDocumentStore()
t = time.perf_counter()
store.add_documents(nodes)
add_s = time.perf_counter() - t
t = time.perf_counter()
store.persist(persist_path)
persist_s = time.perf_counter() - t
t = time.perf_counter()
loaded = SimpleDocumentStore.from_persist_path(persist_path)
load_s = time.perf_counter() - t
lat = []
for i in get_ids:
    t = time.perf_counter()
    loaded.get_document(i)
    lat.append(time.perf_counter() - t)
lat.sort()
t = time.perf_counter()
hashes = loaded.get_all_document_hashes()
hashes_s = time.perf_counter() - t
print(json.dumps({
    "nodes": len(nodes), "add_s": add_s, "persist_s": persist_s, "load_s": load_s,
    "get_p50_us": lat[len(lat) // 2] * 1e6, "get_p99_us": lat[int(len(lat) * 0.99)] * 1e6,
    "hashes_s": hashes_s, "distinct_hashes": len(hashes),
}))
