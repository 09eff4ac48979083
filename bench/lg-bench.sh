#!/usr/bin/env bash
# Looking-glass benchmark (not a test): prefix lookup latency with a full table loaded.
#
# `fox replay` sends the full IPv4 table of shared/data (updates.et-header.2015.gz,
# 577,706 prefixes from AS3856) into a FOX route server; then wrk sends prefix lookups
# (GET /api/v1/lookup?prefix=P, P random from a sample of the table, bench/lg-lookup.lua)
# with C concurrent connections and reports p50/p99 latency and throughput for:
#   rs-direct  the route server's own admin API (what one uncached LG request costs there)
#   uncached   the looking glass with cache_seconds: 0 (every request goes to the RS)
#   cached     the looking glass with cache_seconds: 300 and a warm cache over HOT
#              prefixes, so the looking glass, not the route server, is the bottleneck
# Everything runs on loopback in the root namespace (no root needed): RS 127.77.0.1:11179,
# admin API 127.0.0.1:18180, looking glass 127.0.0.1:18080.
#
#   bench/lg-bench.sh
#   CONNS="50 200" DURATION=20s SAMPLE=20000 HOT=200 bench/lg-bench.sh
# Output: target/lg-bench/<time>/ (configs, logs, wrk output, table.md).
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
CONNS="${CONNS:-50 200}"
DURATION="${DURATION:-20s}"
THREADS="${THREADS:-2}"
SAMPLE="${SAMPLE:-20000}"
HOT="${HOT:-200}"
MODES="${MODES:-rs-direct uncached cached}"
LOAD_TIMEOUT="${LOAD_TIMEOUT:-900}"
MRT="${MRT:-$ROOT/../shared/data/mrt/bgpdump/updates.et-header.2015.gz}"
# bgpdump's own decode of the same file (an oracle kept next to it): the prefix sample.
ORACLE="${ORACLE:-$ROOT/../shared/data/mrt/bgpdump/expect/updates.et-header.2015.gz.bgp.gz}"

command -v wrk >/dev/null || { echo "wrk is not installed (apt-get install -y wrk)" >&2; exit 1; }
command -v jq >/dev/null || { echo "jq is not installed" >&2; exit 1; }
[ -r "$MRT" ] || { echo "table $MRT missing" >&2; exit 1; }
[ -r "$ORACLE" ] || { echo "prefix list $ORACLE missing" >&2; exit 1; }

OUT="$ROOT/target/lg-bench/$(date +%Y%m%d-%H%M%S)"
mkdir -p "$OUT"
echo "== output in $OUT"
echo "== building the release binary"
(cd "$ROOT" && cargo build --release -q -p fox --bin fox)
FOX="$ROOT/target/release/fox"

RS_IP=127.77.0.1
FEED_IP=127.77.0.2
BGP_PORT=11179
API=127.0.0.1:18180
LG_PORT=18080

PIDS=()
cleanup() {
    for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
    for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
}
trap cleanup EXIT

# Waits (at most $2 seconds) until URL $1 answers 2xx.
wait_http() {
    local i
    for ((i = 0; i < $2 * 10; i++)); do
        curl -sf -m 2 -o /dev/null "$1" && return 0
        sleep 0.1
    done
    echo "$1 does not answer after $2 s" >&2
    return 1
}

cat >"$OUT/rs.yaml" <<YAML
exchange: { name: FOX-bench }
sites: [ { id: a, name: A } ]
peering_lans: [ { name: lo, prefix: 127.77.0.0/24 } ]
route_servers:
  - { name: rs1, asn: 64500, router_id: $RS_IP, ipv4: $RS_IP, site: a, port: $BGP_PORT, api: "$API" }
policy: { rpki: false, irr: false, transit_free: false }
members:
  - { name: Feeder, asn: 3856, passive: true, max_prefix: { ipv4: 2000000 }, connections: [ { site: a, ipv4: $FEED_IP } ] }
YAML

echo "== route server"
"$FOX" routeserver --config "$OUT/rs.yaml" --name rs1 >"$OUT/rs.log" 2>&1 &
PIDS+=($!)
wait_http "http://$API/api/v1/status" 30

echo "== replaying $(basename "$MRT")"
t0=$(date +%s)
"$FOX" replay --mrt "$MRT" --connect "$RS_IP:$BGP_PORT" --remote-as 64500 --as 3856 \
    --local-address "$FEED_IP" >"$OUT/replay.log" 2>&1 &
PIDS+=($!)
last=-1
stable=0
for ((i = 0; i < LOAD_TIMEOUT; i++)); do
    sleep 1
    n=$(curl -sf -m 5 "http://$API/api/v1/neighbors" |
        jq '[.neighbors[] | .routes.received.ipv4] | add // 0' 2>/dev/null || echo 0)
    if [ "$n" -gt 0 ] && [ "$n" = "$last" ]; then
        stable=$((stable + 1))
        [ "$stable" -ge 3 ] && break
    else
        stable=0
    fi
    last=$n
done
[ "$stable" -ge 3 ] || { echo "table not loaded after $LOAD_TIMEOUT s (last count $last)" >&2; exit 1; }
curl -sf "http://$API/api/v1/neighbors" | jq '.neighbors[0].routes' >"$OUT/routes.json"
accepted=$(jq '.accepted.ipv4' "$OUT/routes.json")
echo "   received $last, accepted $accepted IPv4 routes in $(($(date +%s) - t0)) s"

# Random sample of the table's prefixes (/8../24; longer ones are filtered), fixed seed.
zcat "$ORACLE" | awk -F'|' '$3 == "A" && $6 !~ /:/ { print $6 }' |
    awk -F/ '$2 >= 8 && $2 <= 24' | sort -u |
    shuf -n "$SAMPLE" --random-source=<(yes fox) >"$OUT/prefixes.txt"
head -n "$HOT" "$OUT/prefixes.txt" >"$OUT/hot.txt"
echo "   sample: $(wc -l <"$OUT/prefixes.txt") prefixes, hot set $(wc -l <"$OUT/hot.txt")"

start_lg() {
    cat "$OUT/rs.yaml" >"$OUT/lg-$1.yaml"
    cat >>"$OUT/lg-$1.yaml" <<YAML
looking_glass:
  listen: 127.0.0.1:$LG_PORT
  cache_seconds: $2
  timeout: 10s
  rate_limit: { per_minute: 1000000, burst: 1000000 }
YAML
    "$FOX" looking-glass --config "$OUT/lg-$1.yaml" >"$OUT/lg-$1.log" 2>&1 &
    LG_PID=$!
    PIDS+=("$LG_PID")
    wait_http "http://127.0.0.1:$LG_PORT/api/v1/whoami" 30
}

echo "| target | connections | requests/s | p50 | p99 | non-2xx | socket errors |" >"$OUT/table.md"
echo "|---|---|---|---|---|---|---|" >>"$OUT/table.md"
run_wrk() { # mode url path prefixes-file
    local c first found
    # The lookups must find routes, or the figures measure empty answers.
    first=$(head -n 1 "$4")
    found=$(curl -sf -m 10 "$2$3?prefix=$first" |
        jq '[.. | objects | select(has("paths")) | .paths | length] | add // 0')
    [ "${found:-0}" -gt 0 ] || { echo "$1: lookup of $first finds no path" >&2; exit 1; }
    for c in $CONNS; do
        local f="$OUT/wrk-$1-c$c.txt"
        PREFIXES="$4" LOOKUP_PATH="$3" wrk -t"$THREADS" -c"$c" -d"$DURATION" --timeout 10s \
            --latency -s "$ROOT/bench/lg-lookup.lua" "$2" >"$f" 2>&1
        local rps p50 p99 non2xx errs
        rps=$(awk '/^Requests\/sec/ { print $2 }' "$f")
        p50=$(awk '$1 == "50%" { print $2 }' "$f")
        p99=$(awk '$1 == "99%" { print $2 }' "$f")
        non2xx=$(awk '/Non-2xx/ { print $NF }' "$f")
        errs=$(awk '/Socket errors/ { $1 = $2 = ""; print }' "$f" | xargs)
        echo "| $1 | $c | $rps | $p50 | $p99 | ${non2xx:-0} | ${errs:-none} |" | tee -a "$OUT/table.md"
        echo "   $1: lookup of $first finds $found path(s); $(awk '/requests in/ { print $1, "requests" }' "$f")"
    done
}

for mode in $MODES; do
    echo "== $mode"
    case "$mode" in
    rs-direct)
        run_wrk rs-direct "http://$API" /api/v1/lookup "$OUT/prefixes.txt"
        ;;
    uncached)
        start_lg uncached 0
        run_wrk uncached "http://127.0.0.1:$LG_PORT" /api/v1/lookup "$OUT/prefixes.txt"
        kill "$LG_PID"; wait "$LG_PID" 2>/dev/null || true
        ;;
    cached)
        start_lg cached 300
        while read -r p; do
            curl -sf -o /dev/null "http://127.0.0.1:$LG_PORT/api/v1/lookup?prefix=$p"
        done <"$OUT/hot.txt"
        run_wrk cached "http://127.0.0.1:$LG_PORT" /api/v1/lookup "$OUT/hot.txt"
        kill "$LG_PID"; wait "$LG_PID" 2>/dev/null || true
        ;;
    *) echo "unknown mode $mode" >&2; exit 1 ;;
    esac
done
{
    echo
    echo "Table: $accepted accepted IPv4 routes ($(basename "$MRT")); wrk $THREADS threads, $DURATION per run;"
    echo "machine: $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg) at the end."
} >>"$OUT/table.md"
echo "== results: $OUT/table.md"
cat "$OUT/table.md"
