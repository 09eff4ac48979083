#!/usr/bin/env bash
# The whole test suite, as CI runs it: installs the Debian packages the
# end-to-end tests need (once), then format check, clippy, and every test.
set -euo pipefail
cd "$(dirname "$0")"

PKGS=(bird2 gobgpd frr exabgp openbgpd stayrtr pmacct bgpdump iproute2 curl)
PKGS+=(chromium chromium-driver)
PKGS+=(jq prometheus) # lab/netns.sh; the dashboards test (tests/e2e/scenario_dashboards.rs)
PKGS+=(clickhouse-server) # the flow archive test (collector/tests/clickhouse_archive.rs)
missing=()
for p in "${PKGS[@]}"; do
    dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
    if [ "$(id -u)" -ne 0 ]; then
        echo "missing packages ${missing[*]}: run as root or install them" >&2
        exit 1
    fi
    echo "== installing ${missing[*]}"
    apt-get update -q
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}"
fi
# Debian's packages may start daemons that would hold BGP/RTR ports.
for svc in bird frr gobgpd openbgpd stayrtr; do
    pkill -x "$svc" 2>/dev/null || true
done

echo "== cargo fmt --check"
cargo fmt --all -- --check
echo "== cargo clippy"
cargo clippy --workspace --all-targets -- -D warnings
echo "== cargo test"
# Libraries, binaries and test targets; benchmarks are built by clippy above
# and run with `cargo bench` (they measure, they do not test).
RUST_TEST_THREADS="${FOX_TEST_THREADS:-2}" cargo test --workspace --lib --bins --tests
echo "== lab/netns.sh test"
# Uses target/debug/fox built by the test run above (no second build).
lab/netns.sh test
