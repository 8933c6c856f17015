#!/usr/bin/env python3
"""Load a persist dir exported by `strata export` with llama-index-core and check it.

Usage: check_llamaindex_export.py EXPORT_DIR ORIGINAL_PERSIST_DIR EXPECTED_JSON

The original persist dir was written by llama-index-core itself (testdata/fixtures, copied from the shared fixtures); the
export must load with StorageContext.from_defaults / load_index_from_storage /
SimpleChatStore.from_persist_path and give the same nodes, ref-doc infos, hashes, index
structs, vectors and chat histories as the original, and the recorded answers.
Prints one closing line "check: N passed, M failed" and exits non-zero on any failure.
"""

import json
import os
import sys

from llama_index.core import Settings, StorageContext, load_index_from_storage
from llama_index.core.embeddings import MockEmbedding
from llama_index.core.storage.chat_store import SimpleChatStore

export_dir, original_dir, expected_path = sys.argv[1:4]
# No network: loading a vector index must not reach for OpenAI's embedding model.
Settings.embed_model = MockEmbedding(embed_dim=16)
expected = json.load(open(expected_path))
passed, failed = 0, 0


def check(name, ok, detail=""):
    global passed, failed
    if ok:
        passed += 1
    else:
        failed += 1
        print(f"FAIL {name} {detail}")


exp = StorageContext.from_defaults(persist_dir=export_dir)
orig = StorageContext.from_defaults(persist_dir=original_dir)

counts = expected["counts"]
check("docstore/data count", len(exp.docstore.docs) == counts["docstore/data"])
check("ref_doc_info count", len(exp.docstore.get_all_ref_doc_info()) == counts["docstore/ref_doc_info"])
check(
    "distinct hashes",
    len(exp.docstore.get_all_document_hashes()) == counts["distinct_hashes(get_all_document_hashes)"],
)
check("nodes equal the original's", exp.docstore.docs == orig.docstore.docs)
check(
    "ref_doc_info equal the original's",
    {k: v.to_dict() for k, v in exp.docstore.get_all_ref_doc_info().items()}
    == {k: v.to_dict() for k, v in orig.docstore.get_all_ref_doc_info().items()},
)
check("hashes equal the original's", exp.docstore.get_all_document_hashes() == orig.docstore.get_all_document_hashes())

d = expected["docstore"]
check("ref_doc_info[doc-007]", exp.docstore.get_ref_doc_info("doc-007").to_dict() == d["ref_doc_info[doc-007]"])
check("get_document_hash(doc-007)", exp.docstore.get_document_hash("doc-007") == d["get_document_hash(doc-007)"])
check("get_node hash", exp.docstore.get_node("doc-007::n0").hash == d["get_node(doc-007::n0).hash"])
check("index ids", sorted(s.index_id for s in exp.index_store.index_structs()) == d["index_ids"])
for index_id in d["index_ids"]:
    try:
        index = load_index_from_storage(exp, index_id=index_id)
        original = load_index_from_storage(orig, index_id=index_id)
        check(f"index {index_id} struct", index.index_struct.to_dict() == original.index_struct.to_dict())
    except Exception as e:  # noqa: BLE001 - report any load failure as a failed check
        check(f"load_index_from_storage({index_id})", False, repr(e))
check(
    "default vector store data",
    exp.vector_stores["default"].to_dict() == orig.vector_stores["default"].to_dict(),
)

# Graph stores: the export answers as the original (llama-index-core on both sides).
g = expected["graph_store"]
check("graph_store get", exp.graph_store.get("Alan Turing") == g["get(Alan Turing)"])
check("graph_store get_rel_map", exp.graph_store.get_rel_map(["Alan Turing"], depth=2, limit=30)
      == g["get_rel_map([Alan Turing], depth=2, limit=30)"])
check("graph_store data", exp.graph_store.to_dict() == orig.graph_store.to_dict())
pg, opg = exp.property_graph_store, orig.property_graph_store
check("property graph nodes", pg.graph.nodes == opg.graph.nodes)
check("property graph triplets", pg.graph.triplets == opg.graph.triplets)
check("property graph relations", pg.graph.relations == opg.graph.relations)
p = expected["property_graph_store"]
check("property graph get(ids)",
      [n.id for n in pg.get(ids=["Alan Turing", "free-chunk-1"])] == p["get(ids=[Alan Turing, free-chunk-1])"])
check("property graph get_triplets(KNOWS)",
      sorted([t[0].id, t[1].id, t[2].id] for t in pg.get_triplets(relation_names=["KNOWS"]))
      == sorted(p["get_triplets(relation_names=[KNOWS])"]))
check("property graph get_llama_nodes", [n.id_ for n in pg.get_llama_nodes(["doc-000::n0"])]
      == p["get_llama_nodes([doc-000::n0]) ids"])

chat_path = os.path.join(export_dir, "chat_store.json")
chat = SimpleChatStore.from_persist_path(chat_path)
want_chat = expected["chat_store"]
check("chat keys", chat.get_keys() == want_chat["get_keys"])
for key, msgs in want_chat["messages"].items():
    got = [{"role": m.role.value, "content": m.content} for m in chat.get_messages(key)]
    check(f"chat {key}", got == msgs, f"{got} != {msgs}")

print(f"check: {passed} passed, {failed} failed")
sys.exit(1 if failed else 0)
