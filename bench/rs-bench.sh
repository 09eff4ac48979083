#!/usr/bin/env bash
# Route-server benchmark: FOX, BIRD 2 and OpenBGPD side by side, in network namespaces.
#
# Senders (fox-blaster) stream a real full IPv4 table, pre-encoded, as fast as the route
# server reads it; receivers (fox-sink) only count prefixes. So the route server is the
# bottleneck, not the test peers (see shared/research/route-servers.md 4.4b).
#
#   bench/rs-bench.sh                         # every RS, every scenario, RUNS runs each
#   RUNS=3 RS="fox bird2" SCENARIOS="full-1" bench/rs-bench.sh
#
# Environment knobs:
#   RUNS=2                 runs per (scenario, RS); the table shows medians
#   RS="fox bird2 bird2-filtered openbgpd"
#   SCENARIOS="full-1 full-4 100k-4"
#   RECEIVERS=1            receiver sessions (fox-sink)
#   TRANSIT_FREE=0         1: FOX policy.transit_free on (BIRD filtered too) and the
#                          blaster drops routes through transit-free ASNs, so counts stay exact
#   RPKI=0                 1: reserved for RPKI via StayRTR (needs the policy issue; see below)
#   TIMEOUT=120            seconds a run may take from first UPDATE to all receivers full
#   PERF=0                 1: `perf record -g` FOX during its runs (perf.data in the output dir)
#   MRT=...                table file (default: shared/data updates.et-header.2015.gz)
# Output: target/rs-bench/<time>/ (configs, logs, results.jsonl, table.md).
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
RUNS="${RUNS:-2}"
RS_LIST="${RS:-fox bird2 bird2-filtered openbgpd}"
SCENARIOS="${SCENARIOS:-full-1 full-4 100k-4}"
RECEIVERS="${RECEIVERS:-1}"
TRANSIT_FREE="${TRANSIT_FREE:-0}"
RPKI="${RPKI:-0}"
TIMEOUT="${TIMEOUT:-120}"
PERF="${PERF:-0}"
MRT="${MRT:-$ROOT/../shared/data/mrt/bgpdump/updates.et-header.2015.gz}"

if [ "$RPKI" = 1 ]; then
    # Switch point for RPKI: FOX gets `policy.rpki: true` plus `rpki.rtr: [127.0.0.1:3323]`
    # with StayRTR serving shared/data/rpki in the RS namespace, and the blaster must drop
    # RPKI-invalid routes so counts stay exact. Both wait for the RTR client in FOX.
    echo "RPKI=1: not wired yet (needs FOX's RTR client and RPKI-aware expectations)" >&2
    exit 64
fi
[ "$(id -u)" -eq 0 ] || { echo "needs root (network namespaces)" >&2; exit 1; }
[ -r "$MRT" ] || { echo "table $MRT missing" >&2; exit 1; }

OUT="$ROOT/target/rs-bench/$(date +%Y%m%d-%H%M%S)"
mkdir -p "$OUT"
echo "== output in $OUT"

echo "== building release binaries"
(cd "$ROOT" && cargo build --release -q -p fox -p fox-bench)
FOX="$ROOT/target/release/fox"
BLASTER="$ROOT/target/release/fox-blaster"
SINK="$ROOT/target/release/fox-sink"

# --- addresses and ASNs ----------------------------------------------------------------
RS_ASN=64500
RS_IP=192.0.2.1
SND_IPS=(192.0.2.11 192.0.2.12 192.0.2.13 192.0.2.14)
SND_ASNS=(399991 399992 399993 399994)
RCV_IPS=()
RCV_ASNS=()
for i in $(seq 1 "$RECEIVERS"); do
    RCV_IPS+=("192.0.2.$((100 + i))")
    RCV_ASNS+=("$((399900 + i))")
done
join() { local IFS=,; echo "$*"; }

# --- the lab ---------------------------------------------------------------------------
P="foxbench-$$"
NS_LAN="$P-lan" NS_RS="$P-rs" NS_SND="$P-snd" NS_RCV="$P-rcv"
CHILDREN=()

cleanup() {
    for pid in "${CHILDREN[@]}"; do kill -KILL "$pid" 2>/dev/null || true; done
    for ns in "$NS_RS" "$NS_SND" "$NS_RCV" "$NS_LAN"; do
        for pid in $(ip netns pids "$ns" 2>/dev/null); do kill -KILL "$pid" 2>/dev/null || true; done
        ip netns del "$ns" 2>/dev/null || true
    done
}
trap cleanup EXIT

ip netns add "$NS_LAN"
ip -n "$NS_LAN" link add br0 type bridge
ip -n "$NS_LAN" link set br0 up
host() { # host <ns> <short> <addr>...
    local ns=$1 short=$2; shift 2
    ip netns add "$ns"
    ip -n "$ns" link set lo up
    ip -n "$NS_LAN" link add "p-$short" type veth peer name eth0 netns "$ns"
    ip -n "$NS_LAN" link set "p-$short" master br0
    ip -n "$NS_LAN" link set "p-$short" up
    ip -n "$ns" link set eth0 up
    for a in "$@"; do ip -n "$ns" addr add "$a/24" dev eth0; done
}
host "$NS_RS" rs "$RS_IP"
host "$NS_SND" snd "${SND_IPS[@]}"
host "$NS_RCV" rcv "${RCV_IPS[@]}"

# --- route server configs ----------------------------------------------------------------
fox_config() { # fox_config <file> <nsenders>
    local n=$2 tf=false
    [ "$TRANSIT_FREE" = 1 ] && tf=true
    {
        cat <<EOF
exchange: { name: FOX, full_name: Formosa Open Exchange, data_dir: $OUT/fox-data }
sites: [ { id: hsinchu, name: Hsinchu } ]
peering_lans: [ { name: fox-v4, prefix: 192.0.2.0/24 } ]
route_servers:
  - { name: rs1, asn: $RS_ASN, router_id: $RS_IP, ipv4: $RS_IP, site: hsinchu, api: "127.0.0.1:8180" }
policy:
  rpki: false            # RPKI=1 switch (see the top of this script)
  irr: false
  first_as: true
  next_hop: strict
  transit_free: $tf      # TRANSIT_FREE=1
members:
EOF
        for i in $(seq 0 $((n - 1))); do
            echo "  - { name: S$((i + 1)), asn: ${SND_ASNS[$i]}, passive: true, connections: [ { site: hsinchu, ipv4: ${SND_IPS[$i]}, macs: [\"02:00:00:00:01:0$i\"], speed: 10G } ] }"
        done
        for i in "${!RCV_IPS[@]}"; do
            echo "  - { name: R$((i + 1)), asn: ${RCV_ASNS[$i]}, passive: true, connections: [ { site: hsinchu, ipv4: ${RCV_IPS[$i]}, macs: [\"02:00:00:00:02:0$i\"], speed: 10G } ] }"
        done
    } >"$1"
}

bird_config() { # bird_config <file> <nsenders> <filtered 0|1>
    local n=$2 filtered=$3 import="import all;"
    {
        cat <<EOF
router id $RS_IP;
log stderr { warning, error, fatal };
protocol device { scan time 10; }
ipv4 table rs4 sorted;
# Control communities (0:peer = not to peer, 0:rs = not to anyone; 2-octet peers only).
function rs_may_export(int peer_as) {
  if peer_as < 65536 then { if (0, peer_as) ~ bgp_community then return false; }
  if (0, $RS_ASN) ~ bgp_community then return false;
  return true;
}
# FOX's default import chain (rpki, irr off): next hop, first AS, path length, bogon ASNs,
# transit-free ASNs (when on), bogon prefixes and the LAN, prefix length 8..24.
define TRANSIT_FREE = [174, 701, 1299, 2914, 3257, 3320, 3356, 5511, 6453, 6461, 6762, 6830, 7018, 12956];
function fox_import(int peer_as; ip peer_ip) {
  if bgp_next_hop != peer_ip then return false;
  if bgp_path.first != peer_as then return false;
  if bgp_path.len > 32 then return false;
  if bgp_path ~ [= * [0, 23456, 64496..131071, 4200000000..4294967295] * =] then return false;
EOF
        [ "$TRANSIT_FREE" = 1 ] && echo '  if bgp_path ~ [= * TRANSIT_FREE * =] then return false;'
        cat <<EOF
  if net ~ [0.0.0.0/0, 0.0.0.0/8+, 10.0.0.0/8+, 100.64.0.0/10+, 127.0.0.0/8+, 169.254.0.0/16+,
            172.16.0.0/12+, 192.0.0.0/24+, 192.0.2.0/24+, 192.88.99.0/24+, 192.168.0.0/16+,
            198.18.0.0/15+, 198.51.100.0/24+, 203.0.113.0/24+, 224.0.0.0/3+] then return false;
  if net.len < 8 || net.len > 24 then return false;
  if (65535, 0) ~ bgp_community then bgp_local_pref = 0;
  return true;
}
template bgp rsclient {
  local $RS_IP as $RS_ASN;
  rs client;
  passive on;
}
EOF
        emit() { # emit <name> <ip> <asn>
            [ "$filtered" = 1 ] && import="import where fox_import($3, $2);"
            echo "protocol bgp $1 from rsclient { neighbor $2 as $3; ipv4 { table rs4; $import export where rs_may_export($3); secondary; next hop keep; }; }"
        }
        for i in $(seq 0 $((n - 1))); do emit "s$((i + 1))" "${SND_IPS[$i]}" "${SND_ASNS[$i]}"; done
        for i in "${!RCV_IPS[@]}"; do emit "r$((i + 1))" "${RCV_IPS[$i]}" "${RCV_ASNS[$i]}"; done
    } >"$1"
}

openbgpd_config() { # openbgpd_config <file> <nsenders> <socket>
    local n=$2
    {
        cat <<EOF
AS $RS_ASN
router-id $RS_IP
listen on $RS_IP
socket "$3"
fib-update no
nexthop qualify via default
rde evaluate all
group "members" {
  transparent-as yes
  passive
EOF
        for i in $(seq 0 $((n - 1))); do echo "  neighbor ${SND_IPS[$i]} { remote-as ${SND_ASNS[$i]} }"; done
        for i in "${!RCV_IPS[@]}"; do echo "  neighbor ${RCV_IPS[$i]} { remote-as ${RCV_ASNS[$i]} }"; done
        cat <<EOF
}
allow from any
allow to any
EOF
    } >"$1"
}

# --- measurement helpers -------------------------------------------------------------------
CLK_TCK=$(getconf CLK_TCK)
rs_pids() { ip netns pids "$NS_RS" 2>/dev/null | tr '\n' ' '; }
# CPU seconds (utime+stime) summed over the route server's processes.
rs_cpu() {
    local t=0 pid f
    for pid in $(rs_pids); do
        f=$(sed 's/.*) //' "/proc/$pid/stat" 2>/dev/null) || continue
        t=$((t + $(echo "$f" | awk '{print $12 + $13}')))
    done
    awk -v t="$t" -v h="$CLK_TCK" 'BEGIN { printf "%.3f", t / h }'
}
# Sum of a /proc/<pid>/status field (kB) over the route server's processes.
rs_mem() {
    local k=0 pid v
    for pid in $(rs_pids); do
        v=$(awk -v f="$1:" '$1 == f { print $2 }' "/proc/$pid/status" 2>/dev/null) || continue
        k=$((k + ${v:-0}))
    done
    echo "$k"
}

wait_for() { # wait_for <seconds> <command...>: poll every 0.1 s
    local limit=$1; shift
    local end=$((SECONDS + limit))
    while ! "$@" 2>/dev/null; do
        [ "$SECONDS" -lt "$end" ] || return 1
        sleep 0.1
    done
}
listening() { [ -n "$(ip netns exec "$NS_RS" ss -Hltn 'sport = :179')" ]; }

start_rs() { # start_rs <kind> <nsenders> <dir>; sets RS_PID
    local kind=$1 n=$2 dir=$3
    case "$kind" in
        fox)
            fox_config "$dir/fox.yaml" "$n"
            mkdir -p "$OUT/fox-data"
            if [ "$PERF" = 1 ]; then
                ip netns exec "$NS_RS" perf record -F 999 -g -o "$dir/perf.data" -- \
                    env RUST_LOG=info "$FOX" routeserver --config "$dir/fox.yaml" --name rs1 \
                    >"$dir/rs.log" 2>&1 &
            else
                ip netns exec "$NS_RS" env RUST_LOG=info "$FOX" routeserver \
                    --config "$dir/fox.yaml" --name rs1 >"$dir/rs.log" 2>&1 &
            fi
            ;;
        bird2 | bird2-filtered)
            local f=0
            [ "$kind" = bird2-filtered ] && f=1
            bird_config "$dir/bird.conf" "$n" "$f"
            ip netns exec "$NS_RS" bird -f -c "$dir/bird.conf" -s "$dir/bird.ctl" \
                >"$dir/rs.log" 2>&1 &
            ;;
        openbgpd)
            mkdir -p /run/openbgpd
            openbgpd_config "$dir/bgpd.conf" "$n" "$dir/bgpd.sock"
            ip netns exec "$NS_RS" bgpd -d -f "$dir/bgpd.conf" >"$dir/rs.log" 2>&1 &
            ;;
    esac
    RS_PID=$!
    CHILDREN+=("$RS_PID")
    wait_for 20 listening || { echo "$kind does not listen; see $dir/rs.log" >&2; return 1; }
}

stop_rs() {
    kill -TERM "$RS_PID" 2>/dev/null || true
    for _ in $(seq 1 50); do kill -0 "$RS_PID" 2>/dev/null || break; sleep 0.1; done
    for pid in $(rs_pids); do kill -KILL "$pid" 2>/dev/null || true; done
    wait "$RS_PID" 2>/dev/null || true
}

scenario_args() { # scenario_args <name>: sets NSND and BLAST_ARGS
    case "$1" in
        full-1) NSND=1 BLAST_ARGS=(--split stride) ;;
        full-4) NSND=4 BLAST_ARGS=(--split stride) ;;
        100k-4) NSND=4 BLAST_ARGS=(--split all --limit 100000) ;;
        *) echo "unknown scenario $1" >&2; exit 1 ;;
    esac
    [ "$TRANSIT_FREE" = 1 ] && BLAST_ARGS+=(--drop-transit-free)
    BLAST_ARGS+=(--mrt "$MRT" --rs "$RS_IP" --rs-asn "$RS_ASN"
        --senders "$(join "${SND_IPS[@]:0:$NSND}")" --asns "$(join "${SND_ASNS[@]:0:$NSND}")"
        --participants "$(join "${RCV_ASNS[@]}")")
}

RESULTS="$OUT/results.jsonl"
: >"$RESULTS"

run_one() { # run_one <scenario> <rs> <run>
    local sc=$1 kind=$2 run=$3
    local dir="$OUT/$sc/$kind/run$run"
    mkdir -p "$dir"
    scenario_args "$sc"
    local plan="$OUT/$sc/plan.json"
    if [ ! -s "$plan" ]; then
        "$BLASTER" "${BLAST_ARGS[@]}" --plan-only >"$plan"
    fi
    local expect paths
    expect=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["expect_per_receiver"])' "$plan")
    paths=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["paths"])' "$plan")

    start_rs "$kind" "$NSND" "$dir"
    ip netns exec "$NS_RCV" timeout $((TIMEOUT + 60)) "$SINK" --rs "$RS_IP" \
        --locals "$(join "${RCV_IPS[@]}")" --asns "$(join "${RCV_ASNS[@]}")" \
        --expect "$expect" --ready-file "$dir/sink.ready" --timeout $((TIMEOUT + 30)) \
        >"$dir/sink.json" 2>"$dir/sink.log" &
    local sink=$!
    CHILDREN+=("$sink")
    wait_for 30 test -e "$dir/sink.ready" || { echo "sink not ready; see $dir" >&2; stop_rs; return 1; }
    sleep 0.5 # let the route server settle after the receivers' handshakes
    local cpu0 rss0
    cpu0=$(rs_cpu)
    rss0=$(rs_mem VmRSS)
    ip netns exec "$NS_SND" timeout $((TIMEOUT + 60)) "$BLASTER" "${BLAST_ARGS[@]}" \
        --linger $((TIMEOUT + 30)) >"$dir/blaster.json" 2>"$dir/blaster.log" &
    local blaster=$!
    CHILDREN+=("$blaster")
    # The sink exits when every receiver is full or its time limit passes; the route
    # server's CPU is read then (its peak RSS is VmHWM, which the kernel keeps).
    local status=0
    wait "$sink" || status=$?
    local cpu1 hwm cpu2 prev
    cpu1=$(rs_cpu)
    # Work left after the receivers are full (exports to the senders): CPU once it stops
    # moving for 1 s (at most 30 s).
    cpu2=$cpu1 prev=-1
    for _ in $(seq 1 30); do
        [ "$cpu2" = "$prev" ] && break
        prev=$cpu2
        sleep 1
        cpu2=$(rs_cpu)
    done
    hwm=$(rs_mem VmHWM)
    kill -TERM "$blaster" 2>/dev/null || true
    wait "$blaster" 2>/dev/null || true
    stop_rs
    python3 - "$dir" "$sc" "$kind" "$run" "$expect" "$paths" "$cpu0" "$cpu1" "$rss0" "$hwm" "$status" "$cpu2" >>"$RESULTS" <<'EOF'
import json, sys
d, sc, kind, run, expect, paths, cpu0, cpu1, rss0, hwm, status, cpu2 = sys.argv[1:]
def last(path, event):
    try:
        for line in reversed(open(path).read().splitlines()):
            j = json.loads(line)
            if j.get("event") == event:
                return j
    except (OSError, ValueError):
        pass
    return {}
sink, blast = last(f"{d}/sink.json", "result"), last(f"{d}/blaster.json", "streamed")
ok = status == "0" and sink.get("all_full") is True and bool(blast)
conv = None
if ok:
    conv = (sink["t_all_full_ns"] - blast["t_first_ns"]) / 1e9
stream = max((s["stream_s"] for s in blast.get("senders", [])), default=None)
paths = int(paths)
print(json.dumps({
    "scenario": sc, "rs": kind, "run": int(run), "ok": ok, "expect": int(expect),
    "paths": paths, "convergence_s": conv, "stream_s": stream,
    "rs_cpu_s": round(float(cpu1) - float(cpu0), 3),
    "rs_cpu_settled_s": round(float(cpu2) - float(cpu0), 3),
    "peak_rss_mib": round(int(hwm) / 1024, 1), "empty_rss_mib": round(int(rss0) / 1024, 1),
    "bytes_per_path": round((int(hwm) - int(rss0)) * 1024 / paths) if paths else None,
    "counts": [s.get("count") for s in sink.get("sessions", [])],
    "errors": [s.get("error") for s in sink.get("sessions", []) if s.get("error")],
}))
EOF
    tail -n 1 "$RESULTS"
}

echo "== lab: $NS_RS $NS_SND $NS_RCV on $NS_LAN; receivers: $RECEIVERS; runs: $RUNS"
for run in $(seq 1 "$RUNS"); do
    for sc in $SCENARIOS; do
        for kind in $RS_LIST; do
            echo "-- run $run $sc $kind"
            run_one "$sc" "$kind" "$run" || echo "   run failed" >&2
        done
    done
done

python3 "$ROOT/bench/report.py" "$RESULTS" | tee "$OUT/table.md"
echo "== machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(uname -r)"
