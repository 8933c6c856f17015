#!/usr/bin/env bash
# Local Strata cluster on loopback.
#
#   deploy/local-cluster.sh up N DIR   start N nodes with their data under DIR, wait until
#                                      every shard is replicated, print the client
#                                      addresses (comma-separated) as the last line;
#                                      every node's HTTP address (probes, metrics,
#                                      status) goes to DIR/http, one line per node
#   deploy/local-cluster.sh down DIR   stop exactly the processes `up` started (pids in DIR)
#
# Ports are picked by the OS (port 0) and kept across restarts. The binary is $STRATA_BIN,
# else target/release/strata (built with cargo when missing).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(dirname "$here")"
timeout_s="${STRATA_UP_TIMEOUT:-120}"

die() { echo "local-cluster: $*" >&2; exit 1; }

strata_bin() {
  if [[ -n "${STRATA_BIN:-}" ]]; then echo "$STRATA_BIN"; return; fi
  local bin="$root/target/release/strata"
  if [[ ! -x "$bin" ]]; then
    (cd "$root" && cargo build --release --bin strata >&2) || die "cannot build strata"
  fi
  echo "$bin"
}

# Waits until FILE has a line with "ready:" and prints the client address from it.
wait_ready() {
  local file="$1" pid="$2" deadline=$((SECONDS + timeout_s))
  while (( SECONDS < deadline )); do
    if grep -q ' ready: ' "$file" 2>/dev/null; then
      grep -o 'client=[^ ]*' "$file" | head -1 | cut -d= -f2
      return 0
    fi
    kill -0 "$pid" 2>/dev/null || die "node exited early; see ${file%.out}.log"
    sleep 0.1
  done
  die "node not ready after ${timeout_s}s; see ${file%.out}.log"
}

start_node() {
  local dir="$1" i="$2" join="$3" bin="$4"
  mkdir -p "$dir"
  STRATA_DATA_DIR="$dir/node$i" STRATA_LISTEN=127.0.0.1:0 STRATA_RAFT_LISTEN=127.0.0.1:0 STRATA_HTTP_LISTEN=127.0.0.1:0 \
    STRATA_JOIN="$join" STRATA_LOG="${STRATA_LOG:-info,openraft=warn}" \
    nohup "$bin" serve >"$dir/node$i.out" 2>"$dir/node$i.log" </dev/null &
  echo "$!" >>"$dir/pids"
  echo "$!"
}

up() {
  local n="$1" dir="$2"
  [[ "$n" =~ ^[0-9]+$ && "$n" -ge 1 ]] || die "N must be a positive number"
  mkdir -p "$dir"; dir="$(cd "$dir" && pwd)"
  [[ -s "$dir/pids" ]] && die "$dir already has a running cluster (run down first)"
  local bin; bin="$(strata_bin)"
  : >"$dir/pids"
  local pid first addrs
  pid="$(start_node "$dir" 1 "[]" "$bin")"
  first="$(wait_ready "$dir/node1.out" "$pid")"
  addrs="$first"
  for ((i = 2; i <= n; i++)); do
    pid="$(start_node "$dir" "$i" "[\"$first\"]" "$bin")"
    addrs="$addrs,$(wait_ready "$dir/node$i.out" "$pid")"
  done
  # Ready: every shard has min(3, N) replicas and no learner left.
  local want=$(( n < 3 ? n : 3 )) deadline=$((SECONDS + timeout_s))
  until "$bin" status --json --cluster "$addrs" 2>/dev/null | python3 -c "
import json, sys
s = json.load(sys.stdin)
ok = s['shards'] and all(len(x['replicas']) == $want and not x['learners'] for x in s['shards'])
ok = ok and len(s['members']) == $n and all('error' not in n for n in s['nodes'])
sys.exit(0 if ok else 1)"; do
    (( SECONDS < deadline )) || die "cluster not settled after ${timeout_s}s"
    sleep 0.2
  done
  echo "$addrs" >"$dir/addrs"
  : >"$dir/http"
  for ((i = 1; i <= n; i++)); do
    grep -o ' http=[^ ]*' "$dir/node$i.out" | head -1 | cut -d= -f2 >>"$dir/http"
  done
  echo "$addrs"
}

down() {
  local dir="$1"
  [[ -f "$dir/pids" ]] || die "no cluster recorded in $dir"
  local pids; pids="$(cat "$dir/pids")"
  for pid in $pids; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in $pids; do
    for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
  done
  rm -f "$dir/pids"
  echo "stopped"
}

case "${1:-}" in
  up) [[ $# -eq 3 ]] || die "usage: $0 up N DIR"; up "$2" "$3" ;;
  down) [[ $# -eq 2 ]] || die "usage: $0 down DIR"; down "$2" ;;
  *) die "usage: $0 up N DIR | down DIR" ;;
esac
