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
field() { echo "$1" | sed "s/.*\"$2\":\([0-9.]*\).*/\1/"; }
median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END{print a[int((NR+1)/2)]}'; }
printf '%-8s %-6s %10s %10s %10s %9s %9s %9s %9s %9s\n' keys window skew_s bare_s pruned_s /bare /pruned rss_skew rss_bare rss_prun
for keys in 100000 1000000; do
  for window in 7d 30d; do
    s=(); b=(); p=(); rs=0; rb=0; rp=0
    for _ in $(seq "$REPS"); do
      o=$("$BIN/bench_recompute" --data "$DATA" --keys "$keys" --window "$window" --mode skewaudit); s+=("$(field "$o" seconds)"); rs=$(field "$o" peak_rss_mib)
      o=$("$BIN/bench_recompute" --data "$DATA" --keys "$keys" --window "$window" --mode bare); b+=("$(field "$o" seconds)"); rb=$(field "$o" peak_rss_mib)
      o=$("$BIN/bench_recompute" --data "$DATA" --keys "$keys" --window "$window" --mode bare_pruned); p+=("$(field "$o" seconds)"); rp=$(field "$o" peak_rss_mib)
    done
    ms=$(median "${s[@]}"); mb=$(median "${b[@]}"); mp=$(median "${p[@]}")
    printf '%-8s %-6s %10s %10s %10s %9.2f %9.2f %9s %9s %9s\n' "$keys" "$window" "$ms" "$mb" "$mp" "$(echo "$ms / $mb" | bc -l)" "$(echo "$ms / $mp" | bc -l)" "$rs" "$rb" "$rp"
  done
done
