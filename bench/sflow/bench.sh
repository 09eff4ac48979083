#!/bin/sh
# sFlow decode + aggregation on one core: FOX's collector next to pmacct's sfacctd, on the same
# recorded datagrams (every sFlow v5 datagram of ../shared/data/pcap/sflow, repeated).
# usage: bench/sflow/bench.sh [REPEAT] [PASSES]     (run from the repository root)
set -eu
REPEAT=${1:-500}
PASSES=${2:-4}
DATA=../shared/data/pcap/sflow
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
N=$(python3 bench/sflow/mkpcap.py "$TMP/in.pcap" "$REPEAT" "$DATA"/*/*.pcap)
echo "pcap: $N datagrams, replayed $PASSES times"

echo "== fox (FabricState::ingest, release, one thread)"
cargo run -q --release -p fox-collector --example sflow_bench -- "$TMP/in.pcap" "$PASSES"

echo "== sfacctd $(sfacctd -V 2>&1 | head -1 | sed 's/.*sfacctd //') (pcap_savefile, print plugin, aggregate src_mac,dst_mac)"
cat > "$TMP/sfacctd.conf" <<CONF
daemonize: false
pcap_savefile: $TMP/in.pcap
pcap_savefile_replay: $PASSES
plugins: print
aggregate: src_mac, dst_mac
print_output: csv
print_output_file: $TMP/sfacctd.out
print_refresh_time: 3600
logfile: $TMP/sfacctd.log
CONF
/usr/bin/time -f "%U %S %e" -o "$TMP/time" sfacctd -f "$TMP/sfacctd.conf" >/dev/null 2>&1
read -r USER SYS WALL < "$TMP/time"
python3 - "$N" "$PASSES" "$USER" "$SYS" "$WALL" <<'PY'
import sys
n, passes, user, sys_, wall = int(sys.argv[1]), int(sys.argv[2]), *map(float, sys.argv[3:])
cpu = user + sys_
print(f"cpu {cpu:.3f} s (user {user}, sys {sys_}; core and print plugin) wall {wall:.3f} s: "
      f"{n * passes / cpu:.0f} datagrams/s per core")
PY
