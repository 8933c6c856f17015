"""A node with API keys and TLS, reached from Python: ``Strata.connect(api_key=...,
ca_file=...)`` works; a client without the CA, and one with a wrong key, get typed
errors."""

import queue
import subprocess
import threading

import pytest

from strata_llamaindex import Strata, errors


def _run(*args: str) -> str:
    from conftest import strata_bin

    return subprocess.run([strata_bin(), *args], check=True, capture_output=True, text=True).stdout


@pytest.fixture
def secure_node(tmp_path):
    """One node serving TLS with a read-write key: (client address, key, CA file)."""
    from conftest import strata_bin

    pki = tmp_path / "pki"
    _run("keys", "tls", str(pki), "--name", "node", "--host", "127.0.0.1")
    _run("keys", "secret", str(tmp_path / "cluster.secret"))
    printed = _run("keys", "new", "--name", "py", "--role", "read-write").splitlines()
    key = printed[1].removeprefix("# ").strip()
    entry = "\n".join(line for line in printed if not line.startswith("#"))
    config = tmp_path / "strata.toml"
    config.write_text(
        f'data_dir = "{tmp_path / "data"}"\nlisten = "127.0.0.1:0"\nraft_listen = "127.0.0.1:0"\nhttp_listen = "127.0.0.1:0"\n'
        f'[auth]\ncluster_secret_file = "{tmp_path / "cluster.secret"}"\n{entry}\n'
        f'[tls]\ncert_file = "{pki / "node.pem"}"\nkey_file = "{pki / "node.key"}"\nca_file = "{pki / "ca.pem"}"\n'
    )
    log = open(tmp_path / "node.log", "w")
    proc = subprocess.Popen(
        [strata_bin(), "serve", "--config", str(config)], stdout=subprocess.PIPE, stderr=log, text=True
    )
    lines: "queue.Queue[str]" = queue.Queue()
    threading.Thread(target=lambda: [lines.put(line) for line in proc.stdout], daemon=True).start()
    try:
        while True:
            line = lines.get(timeout=120)  # the node's ready line; raises queue.Empty if it never comes
            if " ready: " in line:
                addr = next(w for w in line.split() if w.startswith("client=")).split("=", 1)[1]
                break
        yield addr, key, str(pki / "ca.pem")
    finally:
        proc.kill()
        proc.wait()
        log.close()


def test_keys_and_tls_from_python(secure_node):
    addr, key, ca = secure_node
    handle = Strata.connect(addr, timeout=30, api_key=key, ca_file=ca)
    kv = handle.kv_store()
    kv.put("k", {"v": 1}, collection="secure")
    assert kv.get("k", collection="secure") == {"v": 1}

    with pytest.raises(errors.Unauthenticated):
        Strata.connect(addr, timeout=30, api_key="strata_not_a_key", ca_file=ca)
    # A plain client gets no session from a TLS port: it cannot reach the node at all.
    with pytest.raises(errors.Unavailable):
        Strata.connect(addr, timeout=3, api_key=key)
