#!/usr/bin/env bash
# Reproduces BENCHMARKS.md: builds parley in release (core only) and runs each `parley bench`
# measurement, writing one JSON file per run into bench-results/ (or $1).
# Needs PostgreSQL on 127.0.0.1:5432 (trust auth) for the PostgreSQL runs; each run makes
# its own fresh database and drops it afterwards.
set -euo pipefail
cd "$(dirname "$0")/.."
out="${1:-bench-results}"
mkdir -p "$out"
pg="${PARLEY_BENCH_POSTGRES:-postgres://postgres@127.0.0.1:5432/postgres}"
cargo build --release --no-default-features
parley="${CARGO_TARGET_DIR:-target}/release/parley"
run() {
  local name="$1"; shift
  echo "== $name: parley bench $*" >&2
  "$parley" bench "$@" > "$out/$name.json"
}
# The same, with the whole process on one CPU (taskset): see BENCHMARKS.md.
run_pinned() {
  local name="$1"; shift
  echo "== $name: taskset -c 0 parley bench $*" >&2
  taskset -c 0 "$parley" bench "$@" > "$out/$name.json"
}
run sqlite-throughput      --participants 10000 --posts 50000
run_pinned sqlite-throughput-one-cpu --participants 10000 --posts 50000
run sqlite-normal-sync     --participants 10000 --posts 50000 --sqlite-synchronous normal
run sqlite-offered-1000    --participants 2000 --posts 40000 --rate 1140
run sqlite-100k-limited    --participants 100000 --posts 100000 --rate-limits
run_pinned sqlite-offered-1000-one-cpu --participants 2000 --posts 40000 --rate 1140
# Real comments instead of synthetic texts, when given (one a line; BENCHMARKS.md says how
# the NHS feedback file was turned into one).
if [ -n "${PARLEY_BENCH_TEXTS:-}" ]; then
  run sqlite-real-texts    --participants 10000 --posts 50000 --texts "$PARLEY_BENCH_TEXTS"
fi
run postgres-throughput    --participants 5000 --posts 20000 --database "$pg"
run postgres-3-processes   --processes 3 --participants 10000 --posts 100000 --database "$pg"
echo "results in $out/" >&2
