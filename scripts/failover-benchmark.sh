#!/usr/bin/env bash
# Failover benchmark: runs the failover scenarios of Tests/IntegrationTests/Failover (real mariadbd hosts in network
# namespaces, real agents and monitor, a write load through the writer VIP, a sampler of writable servers and VIP
# holders every 100 ms) several times, and writes a table per scenario to BENCHMARKS.md: write outage (the longest gap
# between two acknowledged inserts) as median, p95 and max, acknowledged inserts lost, and two-writer samples.
#
#   scripts/failover-benchmark.sh [--runs N] [--crash-runs M]     (as root; defaults: N=3, M=10)
#
# Every scenario runs N times; the kill -9 scenario M times. Progress is printed per run. Not part of the test suite:
# a scenario that fails its expectations is still measured (its line is kept) and reported as failed.
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=3
CRASH_RUNS=10
while (($#)); do
    case $1 in
        --runs) RUNS=$2; shift 2 ;;
        --crash-runs) CRASH_RUNS=$2; shift 2 ;;
        -h | --help) sed -n '2,10p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "unknown option '$1'; use --runs N, --crash-runs M" >&2; exit 2 ;;
    esac
done
[[ $RUNS =~ ^[1-9][0-9]*$ && $CRASH_RUNS =~ ^[1-9][0-9]*$ ]] || { echo "runs must be positive integers" >&2; exit 2; }
[[ $(id -u) == 0 ]] || { echo "the bench needs root" >&2; exit 1; }

LINES=$(mktemp /tmp/mmm-failover-bench.XXXXXX)
trap 'rm -f "$LINES"' EXIT
echo "=== building"
swift build 2>&1 | tail -1
swift build --build-tests 2>&1 | tail -1

run_filter() {
    local filter=$1 label=$2 log
    log=$(mktemp /tmp/mmm-failover-run.XXXXXX)
    MMM_TEST_MARIADB=1 swift test --skip-build --no-parallel --filter "$filter" >"$log" 2>&1 || true
    grep -E '^SCENARIO [a-z-]+: outage' "$log" >>"$LINES" || true
    local failed
    failed=$(grep -cE '^✘ Test "' "$log" || true)
    echo "  $label: $(grep -cE '^SCENARIO [a-z-]+: outage' "$log" || true) scenario line(s), $failed failed test(s)"
    rm -f "$log"
}

started=$(date +%s)
for i in $(seq 1 "$RUNS"); do
    echo "=== all scenarios, run $i of $RUNS"
    run_filter "FailoverEndToEndTests" "run $i"
done
for i in $(seq "$((RUNS + 1))" "$CRASH_RUNS"); do
    echo "=== kill -9 scenario, run $i of $CRASH_RUNS"
    run_filter 'FailoverEndToEndTests/writerCrash\(\)' "crash run $i"
done
elapsed=$(($(date +%s) - started))

# SCENARIO <name>: outage <ms> ms, acknowledged <n>, lost <k>, duplicates <d>, two-writer samples <s>
table=$(awk '
    # Median: the middle value, or the mean of the two middle ones; p95: nearest rank.
    function median(arr, n) { return (arr[int((n - 1) / 2)] + arr[int(n / 2)]) / 2 }
    function p95(arr, n,   idx) { idx = int(0.95 * n + 0.999999) - 1; if (idx < 0) idx = 0; return arr[idx] }
    {
        name = $2; sub(/:$/, "", name)
        outage = $4; gsub(/[^0-9]/, "", outage)
        lost = 0; if (match($0, /lost [0-9]+/)) lost = substr($0, RSTART + 5, RLENGTH - 5)
        two = 0; if (match($0, /two-writer samples [0-9]+/)) two = substr($0, RSTART + 19, RLENGTH - 19)
        key = name; n[key]++; o[key, n[key] - 1] = outage + 0; l[key] += lost; t[key] += two
        if (lost + 0 > ml[key]) ml[key] = lost + 0
        if (!(key in seen)) { seen[key] = 1; order[++k] = key }
    }
    END {
        for (j = 1; j <= k; j++) {
            key = order[j]; m = n[key]
            for (a = 0; a < m; a++) v[a] = o[key, a]
            for (a = 0; a < m; a++) for (b = a + 1; b < m; b++) if (v[b] < v[a]) { x = v[a]; v[a] = v[b]; v[b] = x }
            printf "| %s | %d | %d | %d | %d | %d (max %d per run) | %d |\n", key, m, median(v, m), p95(v, m), v[m - 1], l[key], ml[key], t[key]
        }
    }' "$LINES")

machine="$(nproc) cores, $(awk '/MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo), $(uname -sr), $(mariadbd --version 2>/dev/null | awk '{ print $3 }')"
{
    echo
    echo "## Failover scenarios ($(date -u +%Y-%m-%d), scripts/failover-benchmark.sh)"
    echo
    echo "Machine: $machine. Default settings of this build (checks every 0.25 s, trap 0.75-1 s, lease_timeout 3 s,"
    echo "drain_timeout 10 s), 2 masters on the namespace bench, one client inserting through the writer VIP."
    echo "Outage: the longest gap between two acknowledged inserts (crash to first acknowledged write on the new writer;"
    echo "for the switchover, the refused-write window of the two moves). $RUNS run(s) per scenario, $CRASH_RUNS of kill -9;"
    echo "$elapsed s in all."
    echo
    echo "| scenario | runs | outage median (ms) | p95 (ms) | max (ms) | acknowledged inserts lost | two-writer samples |"
    echo "| --- | --- | --- | --- | --- | --- | --- |"
    echo "$table"
    echo
    echo "Scenarios: switchover (move_role both ways), crash (kill -9 of the writer's mariadbd), crash-zero-loss (the same"
    echo "with failover_policy zero_loss), sigstop (mariadbd frozen), link-down (the writer's namespace link down),"
    echo "monitor-partition (the monitor cut from the writer only), rejoin (the crashed writer returns clean),"
    echo "errant-rejoin (the writer returns with rows the standby never received: those inserts are lost by design of"
    echo "the scenario, under the default policy)."
} >>BENCHMARKS.md
echo "=== written to BENCHMARKS.md:"
echo "$table"
