"""The fixtures the project's tests read (`testdata/fixtures`) are what the project's own
scripts make with the llama-index-core the test command installs: remade here, they must
come out the same, byte for byte for the persist dir LlamaIndex writes."""

import json
import os
import subprocess
import sys

import numpy as np

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
FIXTURES = os.path.join(ROOT, "testdata", "fixtures")


def make(script, *args):
    subprocess.run([sys.executable, os.path.join(FIXTURES, script), *args], check=True, capture_output=True, timeout=600)


def test_the_llamaindex_persist_dir_is_what_its_script_makes(tmp_path):
    out = tmp_path / "llamaindex-persist"
    make("make_llamaindex_fixture.py", "--out", str(out))
    committed = os.path.join(FIXTURES, "llamaindex-persist")
    assert sorted(os.listdir(out)) == sorted(os.listdir(committed))
    for name in sorted(os.listdir(committed)):
        with open(os.path.join(committed, name), "rb") as a, open(out / name, "rb") as b:
            assert a.read() == b.read(), f"{name} differs from what make_llamaindex_fixture.py writes"
    with open(os.path.join(FIXTURES, "llamaindex-persist.expected.json")) as f:
        expected = json.load(f)
    with open(tmp_path / "llamaindex-persist.expected.json") as f:
        remade = json.load(f)
    # Which Python ran the script is recorded, and is not part of the answers.
    expected["generator"].pop("python"), remade["generator"].pop("python")
    assert remade == expected


def test_the_python_repr_vectors_are_what_their_script_makes(tmp_path):
    out = tmp_path / "vectors.json"
    make("make_python_repr_vectors.py", "--out", str(out))
    with open(os.path.join(FIXTURES, "python-repr-vectors.json")) as a:
        assert json.load(a) == json.loads(out.read_text())


def test_the_wordnet_ground_truth_is_exact():
    # The MiniLM embeddings need a model this machine may not have, so they are data, not
    # remade; their exact top-100 is a pure function of them, so it is checked here.
    data = os.path.join(ROOT, "testdata", "wordnet-minilm")
    base, queries = np.load(os.path.join(data, "base.npy")), np.load(os.path.join(data, "queries.npy"))
    gt = np.load(os.path.join(data, "queries_gt100.npy"))
    assert base.shape == (20000, 384) and queries.shape == (1000, 384) and gt.shape == (1000, 100)
    assert np.allclose(np.linalg.norm(base, axis=1), 1.0, atol=1e-3)
    scores = queries.astype(np.float64) @ base.astype(np.float64).T
    top = np.argsort(-scores, axis=1, kind="stable")[:, :100]
    # Exact ties may be listed in either order: compare the scores at each rank.
    ranked = np.take_along_axis(scores, top, axis=1)
    theirs = np.take_along_axis(scores, gt.astype(np.int64), axis=1)
    assert np.allclose(ranked, theirs, atol=1e-6)
