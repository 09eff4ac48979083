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
#   SCENARIOS="full-1 full-4 100k-4"   (also: full-32, the full table split over 32 senders)
#   RECEIVERS=1            receiver sessions (fox-sink), at most 99
#   TRANSIT_FREE=0         1: FOX policy.transit_free on (BIRD filtered too) and the
#                          blaster drops routes through transit-free ASNs, so counts stay exact
#   RPKI=1                 RPKI origin validation on in every route server, against StayRTR
#                          (in the RS namespace) serving the VRPs of VRPS; RPKI-invalid routes
#                          are rejected, and the blaster drops them from the expected count.
#                          0: no RPKI anywhere
#   VRPS=...               VRP file (default: shared/data rpkiclient_20250720T093135Z.json.bz2)
#   INVALIDATE=1000        with RPKI=1: after convergence, StayRTR's file is swapped for one with
#                          this many more VRPs (exact prefixes of the table, another origin) and
#                          the time until every receiver has seen the withdrawals is measured
#                          (revalidation s; 0 = skip)
#   TIMEOUT=120            seconds a run may take from first UPDATE to all receivers full
#   PERF=0                 1: `perf record -g` FOX during its runs (perf.data in the output dir)
#   HEAPTRACK=0            1: run FOX under heaptrack (heaptrack.*.zst in the run's directory)
#   MRT=...                table file (default: shared/data updates.et-header.2015.gz)
#   BUILD=1                0: use the binaries as they are (no cargo build)
#   BIN=target/release     where fox-blaster and fox-sink are; FOX=$BIN/fox the route server
# Output: target/rs-bench/<time>/ (configs, logs, results.jsonl, table.md).
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
RUNS="${RUNS:-2}"
RS_LIST="${RS:-fox bird2 bird2-filtered openbgpd}"
SCENARIOS="${SCENARIOS:-full-1 full-4 100k-4}"
RECEIVERS="${RECEIVERS:-1}"
TRANSIT_FREE="${TRANSIT_FREE:-0}"
RPKI="${RPKI:-1}"
VRPS="${VRPS:-$ROOT/../shared/data/rpki/rpkiclient_20250720T093135Z.json.bz2}"
INVALIDATE="${INVALIDATE:-1000}"
TIMEOUT="${TIMEOUT:-120}"
PERF="${PERF:-0}"
MRT="${MRT:-$ROOT/../shared/data/mrt/bgpdump/updates.et-header.2015.gz}"

if [ "$RPKI" = 1 ]; then
    [ -r "$VRPS" ] || { echo "VRP file $VRPS missing" >&2; exit 1; }
    command -v stayrtr >/dev/null || { echo "stayrtr missing (apt-get install -y stayrtr)" >&2; exit 1; }
fi
[ "$RECEIVERS" -ge 1 ] && [ "$RECEIVERS" -le 99 ] || { echo "RECEIVERS must be 1..99" >&2; exit 1; }
[ "$(id -u)" -eq 0 ] || { echo "needs root (network namespaces)" >&2; exit 1; }
[ -r "$MRT" ] || { echo "table $MRT missing" >&2; exit 1; }

OUT="$ROOT/target/rs-bench/$(date +%Y%m%d-%H%M%S)"
mkdir -p "$OUT"
echo "== output in $OUT"

BIN="${BIN:-$ROOT/target/release}"
if [ "${BUILD:-1}" = 1 ]; then
    echo "== building release binaries"
    (cd "$ROOT" && cargo build --release -q -p fox -p fox-bench)
fi
FOX="${FOX:-$BIN/fox}"
BLASTER="$BIN/fox-blaster"
SINK="$BIN/fox-sink"

# --- addresses and ASNs ----------------------------------------------------------------
RS_ASN=64500
RS_IP=192.0.2.1
SND_IPS=()
SND_ASNS=()
for i in $(seq 1 32); do
    SND_IPS+=("192.0.2.$((10 + i))")
    SND_ASNS+=("$((399990 + i))")
done
RTR_PORT=3323
# StayRTR re-reads (and hashes) its file this often; a short interval costs CPU beside the
# route server. Revalidation is timed from StayRTR's new serial, so it does not depend on it.
RTR_REFRESH="${RTR_REFRESH:-10}"
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
    local n=$2 tf=false rpki=false
    [ "$TRANSIT_FREE" = 1 ] && tf=true
    [ "$RPKI" = 1 ] && rpki=true
    {
        cat <<EOF
exchange: { name: FOX, full_name: Formosa Open Exchange, data_dir: $OUT/fox-data }
sites: [ { id: hsinchu, name: Hsinchu } ]
peering_lans: [ { name: fox-v4, prefix: 192.0.2.0/24 } ]
route_servers:
  - { name: rs1, asn: $RS_ASN, router_id: $RS_IP, ipv4: $RS_IP, site: hsinchu, api: "127.0.0.1:8180" }
policy:
  rpki: $rpki            # RPKI=1
  irr: false
  first_as: true
  next_hop: strict
  transit_free: $tf      # TRANSIT_FREE=1
EOF
        [ "$RPKI" = 1 ] && echo "rpki: { rtr: [ { host: 127.0.0.1, port: $RTR_PORT } ] }"
        echo "members:"
        for i in $(seq 0 $((n - 1))); do
            echo "  - { name: S$((i + 1)), asn: ${SND_ASNS[$i]}, passive: true, connections: [ { site: hsinchu, ipv4: ${SND_IPS[$i]}, macs: [\"02:00:00:00:01:$(printf %02x "$i")\"], speed: 10G } ] }"
        done
        for i in "${!RCV_IPS[@]}"; do
            echo "  - { name: R$((i + 1)), asn: ${RCV_ASNS[$i]}, passive: true, connections: [ { site: hsinchu, ipv4: ${RCV_IPS[$i]}, macs: [\"02:00:00:00:02:$(printf %02x "$i")\"], speed: 10G } ] }"
        done
    } >"$1"
}

bird_config() { # bird_config <file> <nsenders> <filtered 0|1>
    local n=$2 filtered=$3 import="import all;" table=""
    if [ "$RPKI" = 1 ]; then
        import="import where rpki_ok();"
        table="import table on;"
    fi
    {
        cat <<EOF
router id $RS_IP;
log stderr { warning, error, fatal };
protocol device { scan time 10; }
ipv4 table rs4 sorted;
EOF
        if [ "$RPKI" = 1 ]; then
            # RPKI: ROA tables fed by StayRTR; invalid = rejected on import. BIRD re-runs the
            # import filters when the ROA tables change ("rpki reload", on by default), which
            # for BGP needs the routes as received: `import table on` on every channel.
            cat <<EOF
roa4 table rtr4;
roa6 table rtr6;
protocol rpki rtr { roa4 { table rtr4; }; roa6 { table rtr6; }; remote 127.0.0.1 port $RTR_PORT; retry keep 5; }
function rpki_ok() { return roa_check(rtr4, net, bgp_path.last) != ROA_INVALID; }
EOF
        else
            echo 'function rpki_ok() { return true; }'
        fi
        cat <<EOF
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
  if !rpki_ok() then return false;
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
            echo "protocol bgp $1 from rsclient { neighbor $2 as $3; ipv4 { table rs4; $table $import export where rs_may_export($3); secondary; next hop keep; }; }"
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
EOF
        [ "$RPKI" = 1 ] && echo "rtr 127.0.0.1 { port $RTR_PORT }"
        cat <<EOF
group "members" {
  transparent-as yes
  passive
EOF
        for i in $(seq 0 $((n - 1))); do echo "  neighbor ${SND_IPS[$i]} { remote-as ${SND_ASNS[$i]} }"; done
        for i in "${!RCV_IPS[@]}"; do echo "  neighbor ${RCV_IPS[$i]} { remote-as ${RCV_ASNS[$i]} }"; done
        cat <<EOF
}
EOF
        [ "$RPKI" = 1 ] && echo "deny quick from any ovs invalid"
        cat <<EOF
allow from any
allow to any
EOF
    } >"$1"
}

# --- measurement helpers -------------------------------------------------------------------
CLK_TCK=$(getconf CLK_TCK)
# The route server's processes: everything in its namespace but StayRTR.
RTR_PID=""
rs_pids() { ip netns pids "$NS_RS" 2>/dev/null | grep -vx "${RTR_PID:-none}" | tr '\n' ' '; }
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
rtr_listening() { [ -n "$(ip netns exec "$NS_RS" ss -Hltn "sport = :$RTR_PORT")" ]; }

start_rtr() { # start_rtr <dir> <plan dir>: StayRTR serving <dir>/rtr.json (the plan's VRPs)
    cp "$2/vrps.json" "$1/rtr.json"
    ip netns exec "$NS_RS" stayrtr -bind "127.0.0.1:$RTR_PORT" -cache "$1/rtr.json" \
        -checktime=false -refresh "$RTR_REFRESH" -metrics.addr "" -loglevel info >"$1/stayrtr.log" 2>&1 &
    RTR_PID=$!
    CHILDREN+=("$RTR_PID")
    # StayRTR parses the whole file before it listens: tens of seconds on a busy machine.
    wait_for 300 rtr_listening || { echo "stayrtr does not listen; see $1/stayrtr.log" >&2; return 1; }
}
stop_rtr() {
    [ -n "$RTR_PID" ] || return 0
    kill -TERM "$RTR_PID" 2>/dev/null || true
    wait "$RTR_PID" 2>/dev/null || true
    RTR_PID=""
}
# VRPs (IPv4) the route server holds, as far as it tells.
rs_vrps_v4() { # rs_vrps_v4 <kind> <dir>
    case "$1" in
        fox) ip netns exec "$NS_RS" curl -sf --max-time 2 http://127.0.0.1:8180/metrics |
            awk '/^fox_rpki_vrps\{/ && $2 > n { n = $2 } END { print n + 0 }' ;;
        bird2 | bird2-filtered) birdc -s "$2/bird.ctl" show route table rtr4 count |
            awk '/routes for/ { print $1 }' ;;
        openbgpd) bgpctl -s "$2/bgpd.sock" show sets | awk '$1 == "ROA" { print $(NF-3) }' ;;
    esac
}
# Wait until the route server holds the whole VRP set (FOX: v4+v6, the largest of its
# per-source gauges; OpenBGPD: distinct IPv4 prefixes).
wait_vrps() { # wait_vrps <kind> <dir> <v4> <total> <distinct v4 prefixes>
    local want=$3 got=""
    [ "$1" = fox ] && want=$4
    [ "$1" = openbgpd ] && want=$5
    local end=$((SECONDS + 120))
    while [ "$SECONDS" -lt "$end" ]; do
        got=$(rs_vrps_v4 "$1" "$2" 2>/dev/null || true)
        [ "${got:-0}" = "$want" ] && return 0
        sleep 0.2
    done
    echo "$1 holds ${got:-no} VRPs, expected $want" >&2
    return 1
}

start_rs() { # start_rs <kind> <nsenders> <dir>; sets RS_PID
    local kind=$1 n=$2 dir=$3
    case "$kind" in
        fox)
            fox_config "$dir/fox.yaml" "$n"
            mkdir -p "$OUT/fox-data"
            if [ "${HEAPTRACK:-0}" = 1 ]; then
                ip netns exec "$NS_RS" env RUST_LOG=info heaptrack -o "$dir/heaptrack" \
                    "$FOX" routeserver --config "$dir/fox.yaml" --name rs1 \
                    >"$dir/rs.log" 2>&1 &
            elif [ "$PERF" = 1 ]; then
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
        full-32) NSND=32 BLAST_ARGS=(--split stride) ;;
        *) echo "unknown scenario $1" >&2; exit 1 ;;
    esac
    [ "$TRANSIT_FREE" = 1 ] && BLAST_ARGS+=(--drop-transit-free)
    [ "$RPKI" = 1 ] && BLAST_ARGS+=(--vrps "$VRPS")
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
    local plan="$OUT/$sc/plan.json" rtr_dir="$OUT/$sc/rtr"
    if [ ! -s "$plan" ]; then
        local extra=()
        [ "$RPKI" = 1 ] && extra=(--vrps-out "$rtr_dir" --invalidate "$INVALIDATE")
        "$BLASTER" "${BLAST_ARGS[@]}" "${extra[@]}" --plan-only >"$plan"
    fi
    local expect paths vrps4 vrps after
    pj() { python3 -c 'import json,sys; v=json.load(open(sys.argv[1])); [v:=(v or {}).get(k) for k in sys.argv[2:]]; print("" if v is None else v)' "$plan" "$@"; }
    expect=$(pj expect_per_receiver)
    paths=$(pj paths)
    local vrps4p
    vrps4=$(pj rpki vrps_v4)
    vrps=$(pj rpki vrps)
    vrps4p=$(pj rpki vrps_v4_prefixes)
    after=""
    [ "$RPKI" = 1 ] && [ "$INVALIDATE" -gt 0 ] && after=$(pj rpki expect_after_invalidate)

    if [ "$RPKI" = 1 ]; then start_rtr "$dir" "$rtr_dir" || return 1; fi
    start_rs "$kind" "$NSND" "$dir" || { stop_rtr; return 1; }
    local t_vrps=""
    if [ "$RPKI" = 1 ]; then
        local t0=$SECONDS
        wait_vrps "$kind" "$dir" "$vrps4" "$vrps" "$vrps4p" || { stop_rs; stop_rtr; return 1; }
        t_vrps=$((SECONDS - t0))
    fi
    local sink_args=(--expect "$expect" --timeout $((TIMEOUT + 30)))
    [ -n "$after" ] && sink_args=(--expect "$expect" --then-expect "$after"
        --full-file "$dir/sink.full" --timeout $((2 * TIMEOUT + 60)))
    ip netns exec "$NS_RCV" timeout $((2 * TIMEOUT + 90)) "$SINK" --rs "$RS_IP" \
        --locals "$(join "${RCV_IPS[@]}")" --asns "$(join "${RCV_ASNS[@]}")" \
        "${sink_args[@]}" --ready-file "$dir/sink.ready" \
        >"$dir/sink.json" 2>"$dir/sink.log" &
    local sink=$!
    CHILDREN+=("$sink")
    wait_for 30 test -e "$dir/sink.ready" || { echo "sink not ready; see $dir" >&2; stop_rs; stop_rtr; return 1; }
    sleep 0.5 # let the route server settle after the receivers' handshakes
    local cpu0 rss0
    cpu0=$(rs_cpu)
    rss0=$(rs_mem VmRSS)
    ip netns exec "$NS_SND" timeout $((2 * TIMEOUT + 90)) "$BLASTER" "${BLAST_ARGS[@]}" \
        --linger $((2 * TIMEOUT + 60)) >"$dir/blaster.json" 2>"$dir/blaster.log" &
    local blaster=$!
    CHILDREN+=("$blaster")
    # The sink exits when every receiver is full or its time limit passes (with revalidation:
    # it creates sink.full then); the route server's CPU is read then (its peak RSS is
    # VmHWM, which the kernel keeps).
    local status=0
    if [ -n "$after" ]; then
        local end=$((SECONDS + TIMEOUT + 40))
        while [ ! -e "$dir/sink.full" ] && kill -0 "$sink" 2>/dev/null && [ "$SECONDS" -lt "$end" ]; do
            sleep 0.02
        done
    else
        wait "$sink" || status=$?
    fi
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
    # Revalidation: swap StayRTR's file for the one with INVALIDATE more VRPs (atomic rename;
    # StayRTR re-reads it within 1 s and notifies its clients) and wait for the sink.
    local t_swap="" t_serial="" cpu3=""
    if [ -n "$after" ]; then
        if [ -e "$dir/sink.full" ]; then
            cp "$rtr_dir/vrps-invalidate.json" "$dir/rtr.next.json"
            t_swap=$(date +%s%N)
            mv -f "$dir/rtr.next.json" "$dir/rtr.json"
            # Time zero: StayRTR has the new serial (it notifies its clients right after
            # logging it). Parsing and diffing 724 k VRPs takes StayRTR seconds by itself.
            local end=$((SECONDS + TIMEOUT + RTR_REFRESH))
            while ! grep -q 'new serial 1"' "$dir/stayrtr.log" && [ "$SECONDS" -lt "$end" ]; do
                sleep 0.02
            done
            grep -q 'new serial 1"' "$dir/stayrtr.log" && t_serial=$(date +%s%N)
        fi
        wait "$sink" || status=$?
        cpu3=$(rs_cpu)
    fi
    kill -TERM "$blaster" 2>/dev/null || true
    wait "$blaster" 2>/dev/null || true
    stop_rs
    stop_rtr
    python3 - "$dir" "$sc" "$kind" "$run" "$expect" "$paths" "$cpu0" "$cpu1" "$rss0" "$hwm" "$status" "$cpu2" "$t_swap" "$cpu3" "$after" "$t_vrps" "$t_serial" >>"$RESULTS" <<'EOF'
import json, sys
d, sc, kind, run, expect, paths, cpu0, cpu1, rss0, hwm, status, cpu2, t_swap, cpu3, after, t_vrps, t_serial = sys.argv[1:]
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
ok = status in ("0", "3") and sink.get("all_full") is True and bool(blast)
conv = None
if ok:
    conv = (sink["t_all_full_ns"] - blast["t_first_ns"]) / 1e9
reval = reval_swap = None
if ok and t_swap and sink.get("all_after") and sink.get("t_all_after_ns"):
    reval_swap = (sink["t_all_after_ns"] - int(t_swap)) / 1e9
    if t_serial:
        reval = (sink["t_all_after_ns"] - int(t_serial)) / 1e9
stream = max((s["stream_s"] for s in blast.get("senders", [])), default=None)
paths = int(paths)
print(json.dumps({
    "scenario": sc, "rs": kind, "run": int(run), "ok": ok, "expect": int(expect),
    "paths": paths, "convergence_s": conv, "stream_s": stream,
    "rs_cpu_s": round(float(cpu1) - float(cpu0), 3),
    "rs_cpu_settled_s": round(float(cpu2) - float(cpu0), 3),
    "peak_rss_mib": round(int(hwm) / 1024, 1), "empty_rss_mib": round(int(rss0) / 1024, 1),
    "bytes_per_path": round((int(hwm) - int(rss0)) * 1024 / paths) if paths else None,
    "rpki": bool(t_vrps), "vrps_loaded_after_s": int(t_vrps) if t_vrps else None,
    "expect_after_invalidate": int(after) if after else None,
    "revalidation_s": reval, "revalidation_from_file_swap_s": reval_swap,
    "revalidation_ok": bool(after) and sink.get("all_after") is True,
    "rs_cpu_revalidation_s": round(float(cpu3) - float(cpu2), 3) if cpu3 else None,
    "counts": [s.get("count") for s in sink.get("sessions", [])],
    "errors": [s.get("error") for s in sink.get("sessions", []) if s.get("error")],
}))
EOF
    tail -n 1 "$RESULTS"
}

echo "== lab: $NS_RS $NS_SND $NS_RCV on $NS_LAN; receivers: $RECEIVERS; runs: $RUNS; rpki: $RPKI (invalidate $INVALIDATE)"
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
