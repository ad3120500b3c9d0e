#!/usr/bin/env bash
# Redis read benchmark (issue: online side). Reproduce with:  bash benches/redis.sh [KEYS] [FIELDS]
# Starts a private redis-server, loads KEYS hashes x FIELDS float fields (redis-cli --pipe),
# (keys user:<12-digit id>: redis-benchmark's __rand_int__ renders 12 zero-padded digits, so
# the anchor hits the same existing hashes, checked below with keyspace_hits),
# then runs skewaudit's reader and `redis-benchmark` issuing the same HMGET with the same
# pipeline depth and connections, alternately, REPS times; prints keys/s and the ratio.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/skewaudit-target}"
KEYS="${1:-1000000}"; FIELDS="${2:-20}"; BATCH="${BATCH:-512}"; CONC="${CONC:-4}"; REPS="${REPS:-3}"
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
DIR=$(mktemp -d)
redis-server --port "$PORT" --bind 127.0.0.1 --save "" --appendonly no --dir "$DIR" --daemonize yes --logfile "$DIR/log"
trap 'redis-cli -p "$PORT" shutdown nosave >/dev/null 2>&1 || true; rm -rf "$DIR"' EXIT
until redis-cli -p "$PORT" ping >/dev/null 2>&1; do sleep 0.1; done
cargo build --release --example bench_redis >/dev/null 2>&1
python3 - "$KEYS" "$FIELDS" <<'PY' | redis-cli -p "$PORT" --pipe >/dev/null
import sys
n, f = int(sys.argv[1]), int(sys.argv[2])
out = sys.stdout.buffer
def enc(*parts):
    b = [b"*%d\r\n" % len(parts)]
    for p in parts:
        p = p if isinstance(p, bytes) else str(p).encode()
        b.append(b"$%d\r\n%s\r\n" % (len(p), p))
    return b"".join(b)
for k in range(n):
    args = ["HSET", "user:%012d" % k]
    for i in range(f):
        args += ["f%02d" % i, "%.6f" % ((k * 31 + i) % 1000 / 7.0)]
    out.write(enc(*args))
PY
echo "loaded: $(redis-cli -p "$PORT" dbsize) keys x $FIELDS fields (batch $BATCH, $CONC in flight)"
FIELDS_LIST=$(python3 -c "print(' '.join('f%02d' % i for i in range($FIELDS)))")
for r in $(seq "$REPS"); do
  o=$("$CARGO_TARGET_DIR/release/examples/bench_redis" --url "redis://127.0.0.1:$PORT" --keys "$KEYS" --fields "$FIELDS" --batch "$BATCH" --concurrency "$CONC")
  echo "skewaudit: $o"
  # Same command, same pipeline depth, same number of connections, random keys of the set.
  redis-cli -p "$PORT" config resetstat >/dev/null
  rb=$(redis-benchmark -p "$PORT" -n "$KEYS" -r "$KEYS" -P "$BATCH" -c "$CONC" -q HMGET "user:__rand_int__" $FIELDS_LIST | tr '\r' '\n' | grep -o '[0-9.]* requests per second' | tail -1)
  misses=$(redis-cli -p "$PORT" info stats | tr -d '\r' | sed -n 's/^keyspace_misses://p')
  echo "redis-benchmark: $rb (keyspace misses: $misses)"
  if [ "$misses" != "0" ]; then echo "the anchor read keys that do not exist: not comparable" >&2; exit 1; fi
  python3 -c "import json,sys; print('ratio: %.2f' % (json.loads(sys.argv[1])['keys_per_sec'] / float(sys.argv[2].split()[0])))" "$o" "$rb"
done
