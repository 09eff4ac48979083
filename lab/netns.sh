#!/usr/bin/env bash
# The FOX lab on Linux network namespaces (no Docker): one bridge per site in a fabric
# namespace, the bridges joined by veth pairs into the VPLS fabric (full mesh, inter-site
# ports isolated = split horizon), and one namespace per node: rs1, rs2, the collector, the
# looking glass, a STAMP reflector per site and the four member routers (BIRD 2 and FRR),
# dual-homed as in configs/fox.yaml. Every address lives inside the namespaces made here.
# The plan and every configuration come from `fox lab render` (see docs/lab.md).
#
#   lab/netns.sh up      build the lab and start everything (stays up)
#   lab/netns.sh down    stop every process of the lab and remove its namespaces
#   lab/netns.sh test    up, run the failure drills, print PASS/FAIL each, down
#
# Environment: FOX (binary, default target/debug/fox), FOX_LAB_CONFIG (default
# configs/fox.yaml), FOX_LAB_DIR (rendered files and logs, default /tmp/fox-lab).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
FOX=${FOX:-$ROOT/target/debug/fox}
CONFIG=${FOX_LAB_CONFIG:-$ROOT/configs/fox.yaml}
DIR=${FOX_LAB_DIR:-/tmp/fox-lab}
P=foxlab
FABRIC=$P-fabric
PLAN=$DIR/lab.plan
T0=$(date +%s)

log() { printf '[%4ss] %s\n' "$(($(date +%s) - T0))" "$*"; }
die() {
    echo "netns.sh: $*" >&2
    exit 1
}
ns() { echo "$P-$1"; }
inns() {
    local n=$1
    shift
    ip netns exec "$(ns "$n")" "$@"
}
plan() { grep "^$1 " "$PLAN" || true; }

# Wait up to $1 seconds for the command in the rest of the arguments to succeed.
wait_for() {
    local limit=$1
    shift
    local end=$(($(date +%s) + limit))
    while true; do
        if "$@" >/dev/null 2>&1; then return 0; fi
        [ "$(date +%s)" -ge "$end" ] && return 1
        sleep 0.5
    done
}

# ---------------------------------------------------------------- down
down() {
    local n pid
    for n in $(ip netns list 2>/dev/null | awk -v p="^$P-" '$1 ~ p {print $1}'); do
        for pid in $(ip netns pids "$n" 2>/dev/null); do
            kill -TERM "$pid" 2>/dev/null || true
        done
    done
    # Give the daemons a moment to stop cleanly, then make sure.
    for _ in 1 2 3 4 5 6 7 8 9 10; do
        local left=0
        for n in $(ip netns list 2>/dev/null | awk -v p="^$P-" '$1 ~ p {print $1}'); do
            [ -n "$(ip netns pids "$n" 2>/dev/null)" ] && left=1
        done
        [ $left -eq 0 ] && break
        sleep 0.3
    done
    for n in $(ip netns list 2>/dev/null | awk -v p="^$P-" '$1 ~ p {print $1}'); do
        for pid in $(ip netns pids "$n" 2>/dev/null); do
            kill -KILL "$pid" 2>/dev/null || true
        done
        ip netns del "$n" 2>/dev/null || true
    done
}

# ---------------------------------------------------------------- up
start() { # start NAME NODE CMD...: run in the node's namespace, cwd $DIR, log to $DIR/log
    local name=$1 node=$2
    shift 2
    (cd "$DIR" && exec ip netns exec "$(ns "$node")" "$@" >"$DIR/log/$name.log" 2>&1) &
    echo $! >"$DIR/run/$name.pid"
}

start_frr() { # start_frr NODE
    local node=$1 d=$DIR/$1
    mkdir -p "$d/run"
    chmod 777 "$d/run"
    printf 'hostname %s\nlog stdout informational\n' "$node" >"$d/zebra.conf"
    start "$node-zebra" "$node" /usr/lib/frr/zebra -f "$d/zebra.conf" -i "$d/run/zebra.pid" \
        -z "$d/run/zserv.api" --vty_socket "$d/run" -P 0
    wait_for 10 test -S "$d/run/zserv.api" || die "zebra in $node did not start (see $DIR/log/$node-zebra.log)"
    # -p 0: bgpd does not listen; the member router opens its sessions (one per port and
    # instance), so an incoming connection is never matched to the wrong instance.
    start "$node-bgpd" "$node" /usr/lib/frr/bgpd -S -u root -g root -f "$d/frr.conf" \
        -i "$d/run/bgpd.pid" -z "$d/run/zserv.api" --vty_socket "$d/run" -P 0 -p 0
    wait_for 10 test -S "$d/run/bgpd.vty" || die "bgpd in $node did not start (see $DIR/log/$node-bgpd.log)"
}

up() {
    [ "$(id -u)" -eq 0 ] || die "needs root (network namespaces)"
    [ -x "$FOX" ] || die "$FOX not found: build it first (cargo build --bin fox)"
    command -v bird >/dev/null || die "bird (Debian package bird2) is not installed"
    [ -x /usr/lib/frr/bgpd ] || die "FRR (Debian package frr) is not installed"
    command -v jq >/dev/null || die "jq is not installed"
    down
    rm -rf "$DIR"
    mkdir -p "$DIR/log" "$DIR/run"
    "$FOX" lab render --config "$CONFIG" --sample "$ROOT/lab/members-sample.db" --out "$DIR" >/dev/null
    log "rendered $CONFIG into $DIR"

    ip netns add "$FABRIC"
    ip -n "$FABRIC" link set lo up
    local idx site a b
    while read -r _ idx site; do
        # No multicast snooping: IPv6 neighbour discovery is flooded like ARP (no querier here).
        ip -n "$FABRIC" link add "fox-br$idx" type bridge mcast_snooping 0
        ip -n "$FABRIC" link set "fox-br$idx" up
    done < <(plan SITE)
    local nsites
    nsites=$(plan SITE | wc -l)
    for ((a = 0; a < nsites; a++)); do
        for ((b = a + 1; b < nsites; b++)); do
            ip -n "$FABRIC" link add "fxb${a}b$b" type veth peer name "fxb${b}b$a"
            ip -n "$FABRIC" link set "fxb${a}b$b" master "fox-br$a" up
            ip -n "$FABRIC" link set "fxb${b}b$a" master "fox-br$b" up
            # VPLS split horizon: what arrives from one site is never sent to another.
            ip netns exec "$FABRIC" bridge link set dev "fxb${a}b$b" isolated on
            ip netns exec "$FABRIC" bridge link set dev "fxb${b}b$a" isolated on
        done
    done

    local name role n=0
    while read -r _ name role _; do
        ip netns add "$(ns "$name")"
        inns "$name" ip link set lo up
        # Several ports on one LAN: each port answers ARP only for its own address.
        for k in all default; do
            inns "$name" sysctl -qw "net.ipv4.conf.$k.arp_ignore=1" "net.ipv4.conf.$k.arp_announce=2" \
                "net.ipv4.conf.$k.rp_filter=0"
        done
    done < <(plan NODE)
    local node ifname addr mac addr6 table lan4 lan6
    read -r _ lan4 lan6 < <(plan LAN)
    declare -A nports=()
    while read -r _ node ifname idx addr mac addr6; do
        n=$((n + 1))
        ip link add "fx${n}s$idx" netns "$FABRIC" type veth peer name "$ifname" netns "$(ns "$node")"
        ip -n "$FABRIC" link set "fx${n}s$idx" master "fox-br$idx" up
        [ "$mac" != "-" ] && inns "$node" ip link set dev "$ifname" address "$mac"
        inns "$node" ip addr add "$addr" dev "$ifname"
        inns "$node" ip link set "$ifname" up
        # Traffic from a port's address leaves by that port (a dual-homed router).
        nports[$node]=$((${nports[$node]:-0} + 1))
        table=$((100 + ${nports[$node]}))
        inns "$node" ip route add "$lan4" dev "$ifname" src "${addr%/*}" table $table
        inns "$node" ip rule add from "${addr%/*}" lookup $table
        if [ "${addr6:--}" != "-" ]; then
            inns "$node" ip -6 addr add "$addr6" dev "$ifname" nodad
            inns "$node" ip -6 route add "$lan6" dev "$ifname" table $table
            inns "$node" ip -6 rule add from "${addr6%/*}" lookup $table
        fi
    done < <(plan PORT)
    log "namespaces, site bridges and fabric up ($(plan NODE | wc -l) nodes, $nsites sites)"

    export RUST_LOG=${RUST_LOG:-info}
    while read -r _ name role arg1 _; do
        case $role in
        routeserver) start "$name" "$name" "$FOX" routeserver --config fox-lab.yaml --name "$arg1" ;;
        collector) start "$name" "$name" "$FOX" collector --config fox-lab.yaml ;;
        looking-glass) start "$name" "$name" "$FOX" looking-glass --config fox-lab.yaml ;;
        reflector) start "$name" "$name" "$FOX" collector --config "$name/fox-probe.yaml" ;;
        bird) start "$name" "$name" bird -f -c "$DIR/$name/bird.conf" -s "$DIR/$name/bird.ctl" -P "$DIR/$name/bird.pid" ;;
        frr) start_frr "$name" ;;
        esac
    done < <(plan NODE)
    sleep 1
    local f
    for f in "$DIR"/run/*.pid; do
        kill -0 "$(cat "$f")" 2>/dev/null && continue
        f=$(basename "$f" .pid)
        tail -n 5 "$DIR/log/$f.log" >&2 || true
        die "$f exited at start (log: $DIR/log/$f.log)"
    done
    log "processes started (logs in $DIR/log)"
}

# ---------------------------------------------------------------- queries
api() { # api NAME PATH: GET from a service's API, from inside its own namespace
    local name=$1 path=$2 hostport
    hostport=$(plan API | awk -v n="$name" '$3 == n {print $4}')
    inns "$name" curl -sf --max-time 3 "http://$hostport$path"
}

# Sessions of route server RS in state Established, as "address" lines.
established() { api "$1" /api/v1/neighbors | jq -r '.neighbors[] | select(.state == "Established") | .address'; }

# The BGP routes of member router NODE as "prefix paths" lines (all its BGP instances).
table() {
    local node=$1 role v
    role=$(plan NODE | awk -v n="$node" '$2 == n {print $3}')
    if [ "$role" = bird ]; then
        inns "$node" birdc -s "$DIR/$node/bird.ctl" show route 2>/dev/null |
            awk '$1 ~ /^[0-9a-f]+[.:]/ {p = $1} / unicast \[/ {n[p]++} END {for (p in n) print p, n[p]}'
    else
        for v in $(plan SESSION | awk -v n="$node" '$2 == n {print $7}' | sort -u); do
            for fam in ipv4 ipv6; do
                if [ "$v" = - ]; then
                    vtysh_ "$node" "show bgp $fam unicast json"
                else
                    vtysh_ "$node" "show bgp view $v $fam unicast json"
                fi | jq -r '(.routes // {}) | to_entries[] | "\(.key) \(.value | length)"'
            done
        done | awk '{n[$1] += $2} END {for (p in n) print p, n[p]}'
    fi
}
vtysh_() { vtysh --vty_socket "$DIR/$1/run" -d bgpd -c "$2" 2>/dev/null; }
members() { plan NODE | awk '$3 == "bird" || $3 == "frr" {print $2}'; }

# Every member router has at least $1 paths to every other member's prefixes;
# with $2, only the prefixes of member node $2 are looked at.
all_routes() {
    local min=$1 only=${2:-} node t
    for node in $(members); do
        [ -n "$only" ] && [ "$node" = "$only" ] && continue
        t=$(table "$node")
        plan PREFIX | awk -v n="$node" -v o="$only" -v min="$min" -v t="$t" '
            BEGIN { k = split(t, l, "\n"); for (i = 1; i <= k; i++) { split(l[i], f, " "); c[f[1]] = f[2] } }
            $2 != n && (o == "" || $2 == o) && c[$3] + 0 < min { bad = 1 }
            END { exit bad }' || return 1
    done
}
# None of member node $1's prefixes is in another member router.
none_of() {
    local only=$1 node t
    for node in $(members); do
        [ "$node" = "$only" ] && continue
        t=$(table "$node")
        plan PREFIX | awk -v o="$only" -v t="$t" '
            BEGIN { k = split(t, l, "\n"); for (i = 1; i <= k; i++) { split(l[i], f, " "); c[f[1]] = f[2] } }
            $2 == o && c[$3] + 0 > 0 { bad = 1 }
            END { exit bad }' || return 1
    done
}
# Report which member routers miss which prefixes.
missing_routes() {
    local node t out=""
    for node in $(members); do
        t=$(table "$node")
        out="$out$(plan PREFIX | awk -v n="$node" -v t="$t" '
            BEGIN { k = split(t, l, "\n"); for (i = 1; i <= k; i++) { split(l[i], f, " "); c[f[1]] = f[2] } }
            $2 != n && c[$3] + 0 == 0 { printf " %s:%s", n, $3 }')"
    done
    echo "${out:- none}"
}

# All sessions of the plan are Established on both route servers.
all_sessions() {
    local rs want have
    for rs in $(plan API | awk '$2 == "routeserver" {print $3}'); do
        want=$(plan SESSION | awk -v r="$rs" '$3 == r {print $6}' | sort -u)
        have=$(established "$rs" | sort -u)
        [ "$want" = "$(comm -12 <(echo "$want") <(echo "$have"))" ] || return 1
    done
}

metric() { # metric NAME SERIES-REGEX: sum of the matching series on a service's /metrics
    api "$1" /metrics | grep -E "^$2" | awk '{s += $NF} END {print s + 0}'
}

# ---------------------------------------------------------------- drills
PASSES=0
FAILS=0
check() { # check "what" COMMAND...
    local what=$1
    shift
    if "$@" >/dev/null 2>&1; then
        log "  ok   $what"
    else
        log "  FAIL $what"
        DRILL_OK=0
    fi
}
verdict() {
    if [ "$DRILL_OK" -eq 1 ]; then
        PASSES=$((PASSES + 1))
        log "PASS $1"
    else
        FAILS=$((FAILS + 1))
        log "FAIL $1 (member routes missing:$(missing_routes))"
    fi
}

probe_state() { # probe_state SITE true|false: the collector's probe to SITE is up/down
    api collector /api/v1/probes | jq -e --arg s "$1" --argjson up "$2" '.probes[] | select(.probe == $s) | .up == $up'
}
probe_alert() { # probe_alert SITE: a FoxProbeDown alert for SITE is firing
    api collector /api/v1/probes | jq -e --arg s "$1" '[.alerts[] | select(.probe == $s and .alert == "FoxProbeDown")] | length > 0'
}
no_probe_alert() { ! probe_alert "$1"; }

# Sessions (RS addresses) at SITE are down on RS and every other session is up.
site_sessions_down() {
    local site=$1 rs addr up
    for rs in $(plan API | awk '$2 == "routeserver" {print $3}'); do
        up=$(established "$rs")
        while read -r addr; do
            if echo "$up" | grep -qx "$addr"; then return 1; fi
        done < <(plan SESSION | awk -v r="$rs" -v s="$site" '$3 == r && $5 == s {print $6}' | sort -u)
        while read -r addr; do
            echo "$up" | grep -qx "$addr" || return 1
        done < <(plan SESSION | awk -v r="$rs" -v s="$site" '$3 == r && $5 != s {print $6}' | sort -u)
    done
}
# In every BIRD member router, the prefixes of members with a port at SITE have next hops,
# and none of them is an address of a port at SITE.
nexthops_avoid() {
    local site=$1 node member prefix out down
    down=$(plan PORT | awk -v i="$(plan SITE | awk -v s="$site" '$3 == s {print $2}')" '$4 == i {print $5; print $7}' | sed 's,/.*,,' | grep -v '^-$')
    for node in $(plan NODE | awk '$3 == "bird" {print $2}'); do
        for member in $(plan PORT | awk -v i="$(plan SITE | awk -v s="$site" '$3 == s {print $2}')" '$4 == i {print $2}' | sort -u); do
            [ "$member" = "$node" ] && continue
            for prefix in $(plan PREFIX | awk -v m="$member" '$2 == m {print $3}'); do
                out=$(inns "$node" birdc -s "$DIR/$node/bird.ctl" show route "$prefix")
                echo "$out" | grep -q 'via ' || return 1
                for a in $down; do
                    if echo "$out" | grep -q "via $a "; then return 1; fi
                done
            done
        done
    done
}
lg_established() { # the looking glass (public API) shows N sessions established on RS
    api lg /api/v1/routeservers | jq -e --arg r "$1" --argjson n "$2" '.route_servers[] | select(.name == $r) | .status.sessions.established == $n'
}
lg_rs_up() { # the looking glass reaches route server RS (true|false)
    api lg /api/v1/routeservers | jq -e --arg r "$1" --argjson up "$2" '.route_servers[] | select(.name == $r) | .up == $up'
}

drill_site_down() {
    DRILL_OK=1
    # The site with no route server (else the last one): its members fail over.
    local site idx=-1 s i
    while read -r _ i s; do
        if ! plan PORT | awk -v i="$i" '$4 == i' | grep -qE "^PORT (rs[0-9]+) "; then
            idx=$i
            site=$s
        fi
    done < <(plan SITE)
    [ "$idx" -ge 0 ] || { read -r _ idx site < <(plan SITE | tail -1); }
    log "drill 1: site bridge $site (fox-br$idx) down"
    ip -n "$FABRIC" link set "fox-br$idx" down
    local t=$(date +%s)
    check "route servers drop the sessions at $site, keep all others (<= 30 s)" wait_for 30 site_sessions_down "$site"
    log "       sessions at $site down after $(($(date +%s) - t)) s"
    check "every member router still has every other member's prefixes" all_routes 1
    check "BIRD routers reach those members' prefixes via next hops outside $site" nexthops_avoid "$site"
    local rs n
    for rs in $(plan API | awk '$2 == "routeserver" {print $3}'); do
        n=$(plan SESSION | awk -v r="$rs" -v s="$site" '$3 == r && $5 != s {print $6}' | sort -u | wc -l)
        check "looking glass shows $n sessions established on $rs" wait_for 10 lg_established "$rs" "$n"
    done
    check "collector probe to $site is down (<= 15 s)" wait_for 15 probe_state "$site" false
    check "collector raised FoxProbeDown for $site" wait_for 10 probe_alert "$site"
    ip -n "$FABRIC" link set "fox-br$idx" up
    t=$(date +%s)
    check "all sessions re-established after the bridge is back (<= 45 s)" wait_for 45 all_sessions
    log "       sessions back after $(($(date +%s) - t)) s"
    check "collector probe to $site is up again" wait_for 15 probe_state "$site" true
    check "FoxProbeDown for $site resolved" wait_for 15 no_probe_alert "$site"
    check "every member router has both route servers' paths again" wait_for 20 all_routes 2
    verdict "drill 1: site $site down: sessions there drop, routes stay via the other site, probes and alerts see it"
}

drill_rs_down() {
    DRILL_OK=1
    log "drill 2: rs1 killed (SIGKILL)"
    local pid
    pid=$(cat "$DIR/run/rs1.pid")
    # The pid file holds `ip netns exec`'s pid, which exec'd into fox.
    kill -KILL "$pid"
    local t=$(date +%s)
    check "members keep every route right after the kill" all_routes 1
    check "member routers see their rs1 sessions close (TCP reset or hold timer, <= 20 s)" wait_for 20 rs1_paths_gone
    log "       rs1's paths gone from member routers after $(($(date +%s) - t)) s"
    check "members still have every route, via rs2" all_routes 1
    check "rs2 still has every session" wait_for 5 rs_all_up rs2
    check "looking glass reports rs1 unreachable" wait_for 15 lg_rs_up rs1 false
    start rs1 rs1 "$FOX" routeserver --config fox-lab.yaml --name rs1
    t=$(date +%s)
    check "rs1 restarted: all sessions established (<= 45 s)" wait_for 45 all_sessions
    log "       rs1 sessions back after $(($(date +%s) - t)) s"
    check "every member router has both route servers' paths again" wait_for 20 all_routes 2
    verdict "drill 2: rs1 down: every member keeps every route via rs2"
}
member_sessions_up() { # every session of member node $1 is Established on its route server
    local node=$1 rs want have
    for rs in $(plan API | awk '$2 == "routeserver" {print $3}'); do
        want=$(plan SESSION | awk -v n="$node" -v r="$rs" '$2 == n && $3 == r {print $6}' | sort -u)
        have=$(established "$rs" | sort -u)
        [ "$want" = "$(comm -12 <(echo "$want") <(echo "$have"))" ] || return 1
    done
}
rs_all_up() {
    local want have
    want=$(plan SESSION | awk -v r="$1" '$3 == r {print $6}' | sort -u)
    have=$(established "$1" | sort -u)
    [ "$want" = "$(comm -12 <(echo "$want") <(echo "$have"))" ]
}
# No member router has a path from rs1 left: each has exactly one path per port to rs2...
# measured as: the BIRD routers have no protocol to rs1 Established.
rs1_paths_gone() {
    local node
    for node in $(plan NODE | awk '$3 == "bird" {print $2}'); do
        inns "$node" birdc -s "$DIR/$node/bird.ctl" show protocols | grep -E '^rs1_' | grep -q Established && return 1
    done
    local v ip view
    while read -r _ node _ ip _ _ v; do
        [ "$v" = - ] && view="" || view="view $v "
        vtysh_ "$node" "show bgp ${view}neighbors $ip json" |
            jq -e --arg ip "$ip" '.[$ip].bgpState != "Established"' >/dev/null || return 1
    done < <(plan SESSION | awk '$3 == "rs1"' | while read -r a n r ip rest; do
        role=$(plan NODE | awk -v n="$n" '$2 == n {print $3}')
        [ "$role" = frr ] && echo "$a $n $r $ip $rest"
    done)
}

drill_flap() {
    DRILL_OK=1
    local node member flaps=3 i t
    read -r _ node _ member _ < <(plan NODE | awk '$3 == "bird"' | head -1)
    log "drill 3: member $member ($node, BIRD) flaps all its sessions $flaps times"
    local before1 before2
    before1=$(metric rs1 "fox_bgp_session_transitions_total\\{[^}]*member=\"$member\"[^}]*to=\"up\"")
    before2=$(metric rs2 "fox_bgp_session_transitions_total\\{[^}]*member=\"$member\"[^}]*to=\"up\"")
    local nsess
    nsess=$(plan SESSION | awk -v n="$node" -v r=rs1 '$2 == n && $3 == r' | wc -l)
    for ((i = 1; i <= flaps; i++)); do
        inns "$node" birdc -s "$DIR/$node/bird.ctl" disable '"rs*"' >/dev/null
        t=$(date +%s)
        check "flap $i: route servers withdraw $member's prefixes from every member (<= 15 s)" wait_for 15 none_of "$node"
        inns "$node" birdc -s "$DIR/$node/bird.ctl" enable '"rs*"' >/dev/null
        t=$(date +%s)
        # No damping: the prefixes come back as soon as the sessions are up again.
        check "flap $i: re-announced to every member at once, no damping (<= 20 s)" wait_for 20 all_routes 1 "$node"
        log "       flap $i: back after $(($(date +%s) - t)) s"
        # Every session of the member up again before the next flap (else it did not flap).
        check "flap $i: all $member sessions established on both route servers (<= 20 s)" wait_for 20 member_sessions_up "$node"
    done
    check "all sessions up after the flaps" wait_for 30 all_sessions
    local after1 after2
    after1=$(metric rs1 "fox_bgp_session_transitions_total\\{[^}]*member=\"$member\"[^}]*to=\"up\"")
    after2=$(metric rs2 "fox_bgp_session_transitions_total\\{[^}]*member=\"$member\"[^}]*to=\"up\"")
    log "       rs1 up transitions of $member: $before1 -> $after1, rs2: $before2 -> $after2 ($nsess sessions each x $flaps flaps)"
    check "rs1 counted $((nsess * flaps)) session ups for $member" test "$((after1 - before1))" -eq "$((nsess * flaps))"
    check "rs2 counted $((nsess * flaps)) session ups for $member" test "$((after2 - before2))" -eq "$((nsess * flaps))"
    check "every member router has both route servers' paths again" wait_for 20 all_routes 2
    verdict "drill 3: $member flapping: withdrawn and re-announced each time, no damping, counters right"
}

run_test() {
    trap 'down' EXIT
    trap 'exit 130' INT TERM
    up
    local t=$(date +%s)
    if ! wait_for 60 all_sessions; then
        log "FAIL lab start: not every session established within 60 s"
        for rs in rs1 rs2; do api "$rs" /api/v1/neighbors | jq -c '.neighbors[] | [.member, .address, .state, .last_error]' || true; done
        exit 1
    fi
    log "all $(plan SESSION | wc -l) sessions established after $(($(date +%s) - t)) s"
    if ! wait_for 30 all_routes 2; then
        log "FAIL lab start: member routes missing:$(missing_routes)"
        exit 1
    fi
    log "every member router has every other member's prefixes from both route servers"
    local site
    for site in $(plan SITE | awk '{print $3}'); do
        wait_for 15 probe_state "$site" true || { log "FAIL lab start: collector probe to $site is not up"; exit 1; }
    done
    log "collector probes to every site are up"
    drill_site_down
    drill_rs_down
    drill_flap
    log "drills: $PASSES passed, $FAILS failed (total $(($(date +%s) - T0)) s)"
    [ "$FAILS" -eq 0 ]
}

case "${1:-}" in
up)
    up
    log "lab is up: looking glass http://$(plan API | awk '$3 == "lg" {print $4}') (ip netns exec $(ns lg) curl ...)"
    ;;
down) down ;;
test) run_test ;;
*)
    echo "usage: $0 up|down|test" >&2
    exit 2
    ;;
esac
