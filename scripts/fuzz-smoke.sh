#!/usr/bin/env bash
# Fuzz smoke run (SPEC X-2): builds every target in fuzz/ once, runs each for a short time on its
# corpus, and fails if any target crashes, panics, times out or runs out of memory.
#
#   scripts/fuzz-smoke.sh                 # every target, FUZZ_SECONDS (20) each, two at a time
#   scripts/fuzz-smoke.sh mm7_request     # some targets only
#   scripts/fuzz-smoke.sh --promote       # then keep the grown corpora as committed seeds (see below)
#
# Environment: FUZZ_SECONDS (per target), FUZZ_JOBS (targets run at once; default: the core count),
# FUZZ_SANITIZER (none, or address…), FUZZ_TARGET_DIR (build directory; default fuzz/target).
#
# Corpora: fuzz/corpus/<target>/seed-* are committed; what libFuzzer finds lands next to them
# (ignored by git), so runs on the same clone build on each other. --promote minimises each corpus
# and renames the survivors to seed-*, unless a target's seeds would pass FUZZ_SEED_KB (128 KB).
# A crash leaves its input in fuzz/artifacts/<target>/; replay it with
#   RUSTC_BOOTSTRAP=1 cargo fuzz run -O -a -s none <target> fuzz/artifacts/<target>/<file>
set -euo pipefail
cd "$(dirname "$0")/.."

seconds=${FUZZ_SECONDS:-20}
jobs=${FUZZ_JOBS:-$(nproc)}
seed_kb=${FUZZ_SEED_KB:-128}
target_dir=${FUZZ_TARGET_DIR:-$PWD/fuzz/target}
promote=0
selected=()
for arg in "$@"; do
  case "$arg" in
    --promote) promote=1 ;;
    -*) echo "unknown option $arg" >&2; exit 2 ;;
    *) selected+=("$arg") ;;
  esac
done

# cargo-fuzz passes nightly-only flags (-Zsanitizer, sancov); this lets the stable toolchain take them.
export RUSTC_BOOTSTRAP=1
export CARGO_TERM_COLOR=never
if ! command -v cargo-fuzz >/dev/null 2>&1; then
  echo "== installing cargo-fuzz"
  cargo install cargo-fuzz --locked
fi

# Release with debug assertions and overflow checks (an overflow is a crash). No sanitizer by
# default: our crates forbid `unsafe`, and a short run is there to catch panics, overflows, slow
# inputs and memory blow-ups; AddressSanitizer (FUZZ_SANITIZER=address) doubles the build time and
# belongs to longer runs. Many codegen units: the build, not the run, is most of a smoke run.
flags=(-O -a -s "${FUZZ_SANITIZER:-none}" --codegen-units 16 --target-dir "$target_dir")
if [ ${#selected[@]} -eq 0 ]; then
  mapfile -t selected < <(cargo fuzz list)
fi

start=$(date +%s)
echo "== building ${#selected[@]} fuzz targets"
cargo fuzz build "${flags[@]}" >/dev/null
echo "   built in $(($(date +%s) - start)) s"

logs=$(mktemp -d)
trap 'rm -rf "$logs"' EXIT
run_one() {
  local t=$1 dict=()
  mkdir -p "fuzz/corpus/$t" "fuzz/artifacts/$t"
  [ -f "fuzz/dicts/$t.dict" ] && dict=("-dict=fuzz/dicts/$t.dict")
  # -timeout: one input taking 10 s is a finding (a remote party could send it over and over);
  # -rss_limit_mb: so is one input making the decoder allocate over 1 GiB.
  if cargo fuzz run "${flags[@]}" "$t" "fuzz/corpus/$t" -- \
      -max_total_time="$seconds" -timeout=10 -rss_limit_mb=1024 -print_final_stats=1 \
      "${dict[@]}" >"$logs/$t.log" 2>&1; then
    echo "   $t: ok, $(grep -m1 -o 'stat::number_of_executed_units: *[0-9]*' "$logs/$t.log" | grep -o '[0-9]*$') runs," \
      "corpus $(find "fuzz/corpus/$t" -type f | wc -l) files"
  else
    echo "!! $t FAILED; its log:"
    grep -v '^#[0-9]' "$logs/$t.log" | tail -n 60
    return 1
  fi
}

echo "== running each target for $seconds s, $jobs at a time"
failed=()
pids=()
names=()
for t in "${selected[@]}"; do
  run_one "$t" &
  pids+=($!)
  names+=("$t")
  if [ ${#pids[@]} -ge "$jobs" ]; then
    wait "${pids[0]}" || failed+=("${names[0]}")
    pids=("${pids[@]:1}")
    names=("${names[@]:1}")
  fi
done
for i in "${!pids[@]}"; do
  wait "${pids[$i]}" || failed+=("${names[$i]}")
done

if [ $promote = 1 ] && [ ${#failed[@]} -eq 0 ]; then
  echo "== promoting minimised corpora to seeds (at most $seed_kb KB per target)"
  for t in "${selected[@]}"; do
    cargo fuzz cmin "${flags[@]}" "$t" "fuzz/corpus/$t" >/dev/null 2>&1
    kb=$(du -sk "fuzz/corpus/$t" | cut -f1)
    if [ "$kb" -gt "$seed_kb" ]; then
      echo "   $t: $kb KB after minimising, over $seed_kb KB: seeds left as they were"
      continue
    fi
    for f in "fuzz/corpus/$t"/*; do
      case "$(basename "$f")" in seed-*) ;; *) mv "$f" "fuzz/corpus/$t/seed-$(basename "$f" | cut -c1-16)" ;; esac
    done
    echo "   $t: $(find "fuzz/corpus/$t" -type f | wc -l) seeds, $kb KB"
  done
fi

echo "== fuzz smoke run: $(($(date +%s) - start)) s in all"
if [ ${#failed[@]} -gt 0 ]; then
  echo "fuzz targets that failed: ${failed[*]} (inputs in fuzz/artifacts/)" >&2
  exit 1
fi
