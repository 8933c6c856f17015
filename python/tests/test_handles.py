"""Handles: sharing a directory within a process, refusing it to another, closing,
and a dead cluster failing after the deadline instead of hanging."""

import socket
import subprocess
import sys
import time

import pytest
from llama_index.core.schema import TextNode

from strata_llamaindex import Strata, StrataDocumentStore, StrataKVStore, StrataVectorStore, errors


def test_stores_on_one_path_share_one_open_database(tmp_path):
    path = tmp_path / "data"
    docs = StrataDocumentStore(path=str(path))
    vectors = StrataVectorStore(path=str(path), namespace="docs")  # a second open: shares
    docs.add_documents([TextNode(id_="a", text="shared")])
    vectors.add([TextNode(id_="v", text="v", embedding=[1.0, 0.0])])
    again = Strata.open(path)
    assert again.docstore().get_document("a").text == "shared"
    assert "docs" in again.vector_namespaces()
    ctx = again.storage_context()
    assert set(ctx.vector_stores) >= {"default", "image", "docs"}
    assert ctx.docstore.get_document("a").text == "shared"


def test_a_second_process_gets_already_open_and_the_store_stays_intact(tmp_path):
    path = str(tmp_path / "data")
    kv = StrataKVStore(path=path)
    kv.put("k", {"v": 1})
    probe = (
        "import sys\nfrom strata_llamaindex import Strata, errors\n"
        f"try:\n    Strata.open({path!r})\nexcept errors.AlreadyOpen as e:\n    print('AlreadyOpen', e)\n    sys.exit(0)\n"
        "sys.exit(1)\n"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0 and "already open" in out.stdout, out.stdout + out.stderr
    assert kv.get("k") == {"v": 1}


def test_closed_handles_raise_closed_and_the_directory_reopens(tmp_path):
    path = tmp_path / "data"
    handle = Strata.open(path)
    handle.kv_store().put("k", {"v": 2})
    handle.close()
    assert handle.closed
    with pytest.raises(errors.Closed):
        handle.kv_store().get("k")
    with Strata.open(path) as reopened:  # every handle closed: opened afresh
        assert reopened.kv_store().get("k") == {"v": 2}
    probe = f"from strata_llamaindex import Strata\nprint(Strata.open({str(path)!r}).kv_store().get('k'))\n"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120)
    assert out.stdout.strip() == "{'v': 2}", out.stderr


def test_malformed_calls_raise_typed_errors(tmp_path):
    handle = Strata.open(tmp_path / "data")
    with pytest.raises(errors.InvalidInput):
        handle._call("docstore", "add_documents", {"docs": [{"__data__": {}, "__type__": "1"}]})
    with pytest.raises(errors.InvalidInput):
        handle._call("nope", "get", {})
    with pytest.raises(errors.InvalidInput):
        handle._native.call("kv", "get", "not json")
    with pytest.raises(errors.InvalidInput):
        handle._call("vector", "add", {"docs": [{"__data__": {"id_": "x", "text": ""}, "__type__": "1"}]}, b"\x00" * 7)
    with pytest.raises(ValueError):
        Strata.connect(["127.0.0.1:1"], timeout=float("nan"))
    with pytest.raises(ValueError):
        StrataKVStore()  # neither path, cluster nor handle


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_a_dead_cluster_fails_after_the_deadline_not_never():
    start = time.monotonic()
    with pytest.raises(errors.Unavailable):
        Strata.connect([f"127.0.0.1:{free_port()}"], timeout=2.0)
    assert time.monotonic() - start < 60, "bounded by the deadline (2 s), with a generous margin"


def test_calls_on_a_cluster_that_died_raise_unavailable_after_the_deadline(tmp_path):
    from conftest import ROOT, strata_bin
    import os
    import signal

    script, work = str(ROOT / "deploy" / "local-cluster.sh"), str(tmp_path / "one")
    env = dict(os.environ, STRATA_BIN=strata_bin())
    out = subprocess.run([script, "up", "1", work], env=env, check=True, capture_output=True, text=True)
    try:
        handle = Strata.connect(out.stdout.strip().splitlines()[-1], timeout=3.0)
        kv = handle.kv_store()
        kv.put("k", {"v": 1})
        assert kv.get("k") == {"v": 1}
        for pid in (tmp_path / "one" / "pids").read_text().split():
            os.kill(int(pid), signal.SIGKILL)
        start = time.monotonic()
        with pytest.raises(errors.Unavailable):
            kv.get("k")
        assert time.monotonic() - start < 60, "bounded by the deadline (3 s), with a generous margin"
    finally:
        subprocess.run([script, "down", work], env=env, capture_output=True)
