"""Fixtures: every store test runs twice, on an embedded database in a fresh directory
and on a 3-node cluster on loopback that this session starts (and stops) with
``deploy/local-cluster.sh``. Tests on the shared cluster keep to their own namespaces,
collections, keys and graphs (``unique``)."""

import os
import shutil
import subprocess
import tempfile
import uuid
from pathlib import Path

import pytest

from strata_llamaindex import Strata

ROOT = Path(__file__).resolve().parents[2]


def strata_bin() -> str:
    found = os.environ.get("STRATA_BIN") or str(ROOT / "target" / "debug" / "strata")
    if not os.access(found, os.X_OK):
        pytest.exit(f"strata binary not found at {found}: build it (cargo build --bin strata) or set STRATA_BIN")
    return found


@pytest.fixture(scope="session")
def cluster_addrs():
    work = tempfile.mkdtemp(prefix="strata-py-cluster-")
    script = str(ROOT / "deploy" / "local-cluster.sh")
    env = dict(os.environ, STRATA_BIN=strata_bin())
    try:
        out = subprocess.run([script, "up", "3", work], env=env, check=True, capture_output=True, text=True)
        yield out.stdout.strip().splitlines()[-1]
    finally:
        subprocess.run([script, "down", work], env=env, capture_output=True)
        shutil.rmtree(work, ignore_errors=True)


@pytest.fixture(params=["embedded", "cluster"])
def strata(request, tmp_path):
    """A Strata handle: embedded in a fresh directory, or on the session's cluster."""
    if request.param == "embedded":
        handle = Strata.open(tmp_path / "data")
    else:
        handle = Strata.connect(request.getfixturevalue("cluster_addrs"), timeout=60)
    yield handle
    if request.param == "embedded":
        handle.close()


@pytest.fixture
def unique():
    """A prefix no other test uses (the cluster is shared by the session's tests)."""
    return "t" + uuid.uuid4().hex[:10]
