#!/usr/bin/env bash
# The test command of the README (and of CI): the whole Rust suite, then the differential
# checks against real llama-index-core and the Python package's tests. It needs python3
# (with venv) and the network: the Rust suite's backup tests run moto's S3 server, the
# checks llama-index-core; STRATA_SKIP_PYTHON=1 skips the llama-index-core checks and the
# Python package's tests (not moto).
set -euo pipefail
cd "$(dirname "$0")/.."
FIXTURES=testdata/fixtures

# The operations tests run real Prometheus and promtool (Debian's prometheus package)
# and headless Chromium (Debian's chromium) against nodes; the deployment test renders
# the Kubernetes base with kubectl's kustomize (Debian's kubernetes-client when no
# kubectl is installed) and checks the unit with systemd-analyze (Debian's systemd).
missing=""
command -v promtool >/dev/null || missing="$missing prometheus"
command -v chromium >/dev/null || missing="$missing chromium"
command -v kubectl >/dev/null || missing="$missing kubernetes-client"
command -v systemd-analyze >/dev/null || missing="$missing systemd"
if [ -n "$missing" ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "== installing Debian's$missing =="
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $missing >/dev/null
  else
    echo "not found:$missing (Debian's packages; the operations tests use them)" >&2
    exit 1
  fi
fi

# The backup tests run a local S3-compatible server: moto's server mode, from PyPI; the
# deployment test reads YAML with PyYAML (from the same environment).
MOTO_VENV=target/venv-moto
if [ ! -x "$MOTO_VENV/bin/python" ] || ! "$MOTO_VENV/bin/python" -c "import moto.server, boto3, yaml" 2>/dev/null; then
  echo "== installing moto[server] and PyYAML (a local S3-compatible server, YAML for the deployment test) =="
  python3 -m venv "$MOTO_VENV" && "$MOTO_VENV/bin/pip" install -q "moto[server]==5.1.4" "PyYAML==6.0.3" \
    || { echo "moto could not be installed (python3-venv and the network are needed)" >&2; exit 1; }
fi
export STRATA_MOTO_PYTHON="$PWD/$MOTO_VENV/bin/python"

cargo test --workspace --locked

echo "== llama-index-core loads a strata export =="
if [ "${STRATA_SKIP_PYTHON:-0}" = 1 ]; then
  echo "STRATA_SKIP_PYTHON=1: the llama-index-core checks and the Python tests are skipped"
  exit 0
fi
if ! command -v python3 >/dev/null; then
  echo "python3 not found: the llama-index-core checks need it (or set STRATA_SKIP_PYTHON=1)" >&2
  exit 1
fi
VENV=target/venv-llamaindex
if [ ! -x "$VENV/bin/python" ] || ! "$VENV/bin/python" -c "import llama_index.core" 2>/dev/null; then
  python3 -m venv "$VENV" && "$VENV/bin/pip" install -q llama-index-core==0.14.25 pydantic==2.13.5 \
    || { echo "llama-index-core could not be installed (python3-venv and the network are needed)" >&2; exit 1; }
fi
"$VENV/bin/pip" install -q pytest==8.4.2
tmp=$(mktemp -d)
cleanup() {
  if [ -s "$tmp/cluster/pids" ]; then
    deploy/local-cluster.sh down "$tmp/cluster" >/dev/null 2>&1 || true
  fi
  rm -rf "$tmp"
}
trap cleanup EXIT
# The test profile, as the cluster tests build it: compiled once for both.
cargo build --locked -q --bin strata --profile test
target/debug/strata import "$FIXTURES/llamaindex-persist" --data "$tmp/data" >/dev/null
target/debug/strata export "$tmp/export" --data "$tmp/data" >/dev/null
"$VENV/bin/python" scripts/check_llamaindex_export.py "$tmp/export" \
  "$FIXTURES/llamaindex-persist" "$FIXTURES/llamaindex-persist.expected.json"

echo "== random vector queries: llama-index-core and strata agree =="
mkdir "$tmp/random"
"$VENV/bin/python" scripts/check_vector_queries.py target/debug/strata "$tmp/random"

echo "== random graph store calls: llama-index-core and strata agree =="
mkdir "$tmp/graphs"
"$VENV/bin/python" scripts/check_graph_stores.py target/debug/strata "$tmp/graphs"

echo "== the same on a 3-node cluster =="
addrs=$(STRATA_BIN="$PWD/target/debug/strata" deploy/local-cluster.sh up 3 "$tmp/cluster" | tail -1)
mkdir "$tmp/random-cluster"
"$VENV/bin/python" scripts/check_vector_queries.py target/debug/strata "$tmp/random-cluster" \
  --cluster "$addrs" --queries 150
mkdir "$tmp/graphs-cluster"
"$VENV/bin/python" scripts/check_graph_stores.py target/debug/strata "$tmp/graphs-cluster" --cluster "$addrs" --rounds 8

echo "== the Python package (strata-llamaindex) under LlamaIndex's pipelines, embedded and on 3 nodes =="
# (In release: maturin builds the library with `cargo rustc`, where `--profile test`
# would mean a test harness, not a loadable extension.)
"$VENV/bin/pip" install -q ./python
STRATA_BIN="$PWD/target/debug/strata" "$VENV/bin/pytest" -q python/tests
