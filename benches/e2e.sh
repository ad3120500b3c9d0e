#!/usr/bin/env bash
# End-to-end recompute benchmark (issue: foundation). Reproduce with:
#   bash benches/e2e.sh [DATA_DIR]
# Generates >= 10M events over 1M users (once), then for 100k and 1M keys and 7d / 30d
# windows runs skewaudit's recompute and the bare Polars anchor side by side, alternating,
# REPS times each, and prints the medians, their ratio and peak RSS.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/skewaudit-target}"
DATA="${1:-$CARGO_TARGET_DIR/bench-data/transactions}"
REPS="${REPS:-3}"
cargo build --release --example make_fixtures --example bench_recompute
BIN="$CARGO_TARGET_DIR/release/examples"
if [ ! -d "$DATA" ]; then
  "$BIN/make_fixtures" --scale bench --out "$(dirname "$DATA")"
fi
echo "data: $DATA ($(du -sh "$DATA" | cut -f1))"
printf '%-8s %-6s %12s %12s %7s %14s %14s\n' keys window skewaudit_s bare_s ratio rss_skew_MiB rss_bare_MiB
for keys in 100000 1000000; do
  for window in 7d 30d; do
    s=(); b=(); rs=0; rb=0
    for _ in $(seq "$REPS"); do
      o=$("$BIN/bench_recompute" --data "$DATA" --keys "$keys" --window "$window" --mode skewaudit)
      s+=("$(echo "$o" | sed 's/.*"seconds":\([0-9.]*\).*/\1/')"); rs=$(echo "$o" | sed 's/.*"peak_rss_mib":\([0-9.]*\).*/\1/')
      o=$("$BIN/bench_recompute" --data "$DATA" --keys "$keys" --window "$window" --mode bare)
      b+=("$(echo "$o" | sed 's/.*"seconds":\([0-9.]*\).*/\1/')"); rb=$(echo "$o" | sed 's/.*"peak_rss_mib":\([0-9.]*\).*/\1/')
    done
    ms=$(printf '%s\n' "${s[@]}" | sort -g | awk '{a[NR]=$1} END{print a[int((NR+1)/2)]}')
    mb=$(printf '%s\n' "${b[@]}" | sort -g | awk '{a[NR]=$1} END{print a[int((NR+1)/2)]}')
    printf '%-8s %-6s %12s %12s %7.2f %14s %14s\n' "$keys" "$window" "$ms" "$mb" "$(echo "$ms / $mb" | bc -l)" "$rs" "$rb"
  done
done
