#!/usr/bin/env bash
# Makes a compatibility corpus: testdata/compat/v<FORMAT>/ holds an embedded data
# directory and a backup written by this build (from the llama-index-core fixture), its
# export, and every answer of testdata/compat/queries.json recorded from them. Every later Strata
# must open both and give the same answers (chaos-tests/tests/cluster/compat.rs); a
# release that changes a format runs this once to add its own directory beside the old
# ones, which stay.
#
#   scripts/make-compat-corpus.sh [OUT_DIR]     (STRATA_BIN: the binary; default: build)
set -euo pipefail
cd "$(dirname "$0")/.."
if [[ -z "${STRATA_BIN:-}" ]]; then
    cargo build --release -p strata-node --bin strata >&2
    STRATA_BIN=target/release/strata
fi
out=${1:-testdata/compat/v1}
queries=testdata/compat/queries.json
if [[ -e "$out" ]]; then
    echo "$out exists: a corpus is never remade in place (add a new version's directory)" >&2
    exit 1
fi
mkdir -p "$out"
"$STRATA_BIN" import testdata/fixtures/llamaindex-persist --data "$out/data" >/dev/null
"$STRATA_BIN" backup create "$out/backup" --data "$out/data" >/dev/null
"$STRATA_BIN" export "$out/export" --data "$out/data" >/dev/null
"$STRATA_BIN" --version >"$out/written-by"
# Each query: a strata command line run against the data directory, its stdin, and what
# it printed (JSON) and whether it succeeded.
python3 - "$STRATA_BIN" "$queries" "$out" <<'PY'
import json, subprocess, sys
strata, queries, out = sys.argv[1:]
answers = []
for q in json.load(open(queries)):
    run = subprocess.run([strata, *q["args"], "--data", f"{out}/data"], input=json.dumps(q.get("stdin")) if "stdin" in q else None,
                         capture_output=True, text=True)
    answers.append({"name": q["name"], "ok": run.returncode == 0,
                    "answer": json.loads(run.stdout) if run.returncode == 0 else None})
json.dump(answers, open(f"{out}/answers.json", "w"), indent=1, sort_keys=True)
PY
echo "wrote $out" >&2
