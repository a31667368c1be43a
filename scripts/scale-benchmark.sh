#!/usr/bin/env bash
# Scale benchmark: one mmm_mond (release build) checking many host entries, most of them at a black-holed address,
# every check at one probe per second; reports mmm_mond's CPU share of one core, resident memory, threads, and the
# spread of check intervals (from mmm_mond's own `Check cadence` log lines), and writes a section of BENCHMARKS.md.
#
#   scripts/scale-benchmark.sh [--hosts N] [--real M] [--servers S] [--duration SECONDS] [--no-build] [--keep-log FILE]
#                                                                   (as root; defaults: N=1000, M=150, S=4, 60 s)
#
# The bench runs S mariadbd servers in network namespaces (bench/bench.sh). Every host entry needs its own address
# (the config refuses duplicates), so: the M real entries get extra addresses of 198.18.0.0/24 on the servers'
# namespaces, round-robin (mariadbd listens on all of them; M <= 185); mmm_mond runs in a namespace of its own
# (mmmb-scale, 198.18.0.2 on the bench bridge) where the N-M other entries, at 127.1.x.y, are routed to the bench's
# black-holed host, which drops them: connects and pings hang until their deadline. No agents run: the monitor's
# agent links fail like those of dead hosts. The figures cover the window between mmm_mond's first and second
# cadence reports (cadence_report_interval = SECONDS), so start-up is left out. The bench is always torn down (also
# on failure or ctrl-C; bench.sh down removes every mmmb- namespace); the run is bounded in time.
set -euo pipefail
cd "$(dirname "$0")/.."
HOSTS=1000
REAL=150
SERVERS=4
DURATION=60
BUILD=1
KEEP_LOG=
while (($#)); do
    case $1 in
        --hosts) HOSTS=$2; shift 2 ;;
        --real) REAL=$2; shift 2 ;;
        --servers) SERVERS=$2; shift 2 ;;
        --duration) DURATION=$2; shift 2 ;;
        --no-build) BUILD=0; shift ;;
        --keep-log) KEEP_LOG=$2; shift 2 ;;
        -h | --help) sed -n '2,17p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "unknown option '$1'; use --hosts N, --real M, --servers S, --duration SECONDS, --no-build" >&2; exit 2 ;;
    esac
done
for value in "$HOSTS" "$REAL" "$SERVERS" "$DURATION"; do
    [[ $value =~ ^[1-9][0-9]*$ ]] || { echo "'$value' is not a positive integer" >&2; exit 2; }
done
((REAL < HOSTS)) || { echo "--real ($REAL) must be less than --hosts ($HOSTS): the rest are black-holed" >&2; exit 2; }
((SERVERS >= 2 && SERVERS <= 20)) || { echo "--servers must be 2..20" >&2; exit 2; }
((REAL >= SERVERS && REAL <= 185)) || { echo "--real must be --servers..185 (free bench addresses)" >&2; exit 2; }
((HOSTS - REAL <= 60000)) || { echo "at most 60000 black-holed entries" >&2; exit 2; }
[[ $(id -u) == 0 ]] || { echo "the bench needs root (network namespaces)" >&2; exit 1; }

say() { printf 'scale-benchmark: %s\n' "$*" >&2; }

if ((BUILD)); then
    say "building mmm_mond (release)"
    swift build -c release --product mmm_mond 2>&1 | tail -1
fi
MOND=$(swift build -c release --show-bin-path)/mmm_mond
[[ -x $MOND ]] || { echo "$MOND not found; build it (swift build -c release --product mmm_mond)" >&2; exit 1; }

WORK=$(mktemp -d /tmp/mmm-scale.XXXXXX)
chmod 700 "$WORK"
MOND_PID=
BENCH_UP=0
cleanup() {
    local status=$?
    trap - EXIT INT TERM
    if [[ -n $MOND_PID ]] && kill -0 "$MOND_PID" 2>/dev/null; then
        kill -TERM "$MOND_PID" 2>/dev/null || true
        for _ in $(seq 1 100); do kill -0 "$MOND_PID" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$MOND_PID" 2>/dev/null || true
        wait "$MOND_PID" 2>/dev/null || true
    fi
    if ((BENCH_UP)); then
        say "tearing the bench down"
        bench/bench.sh down >/dev/null 2>&1 || say "bench.sh down failed; run it by hand"
    fi
    if [[ -n $KEEP_LOG && -f $WORK/mmm_mond.log ]]; then cp "$WORK/mmm_mond.log" "$KEEP_LOG" || true; fi
    if ((status != 0)) && [[ -f $WORK/mmm_mond.log ]]; then
        say "last lines of mmm_mond's log:"
        tail -20 "$WORK/mmm_mond.log" >&2 || true
    fi
    rm -rf "$WORK"
    exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# The machine-wide bench lock (the same flock the tests take), waited for at most 10 minutes.
exec 9>/tmp/mmm-bench.lock
if ! flock -n 9; then
    say "waiting for another user of the bench (/tmp/mmm-bench.lock)"
    flock -w 600 9 || { echo "the bench stayed busy for 10 minutes" >&2; exit 1; }
fi

say "starting $SERVERS mariadbd servers in namespaces"
BENCH_UP=1
bench/bench.sh up --hosts "$SERVERS" >"$WORK/bench-up.log" 2>&1 || { cat "$WORK/bench-up.log" >&2; exit 1; }
STATE=${MMM_BENCH_STATE:-/tmp/mmm-bench}
# shellcheck disable=SC1091
source "$STATE/bench.env"
[[ -n ${MMM_BENCH_VOID_IP:-} ]] || { echo "the bench has no black-holed address" >&2; exit 1; }
mapfile -t SERVER_LINES < <(grep -v '^#' "$STATE/hosts.tsv")

# Free addresses of the bench subnet for the real entries (the servers are .101.., the role IPs .200..).
REAL_IPS=()
for n in $(seq 10 99) $(seq 105 199); do REAL_IPS+=("198.18.0.$n"); done
for i in $(seq 1 "$REAL"); do
    server=$(((i - 1) % SERVERS + 1))
    ip -n "mmmb-db$server" addr add "${REAL_IPS[$((i - 1))]}/32" dev eth0
done
# The monitor's namespace: on the bench bridge, with 127.1.0.0/16 routed to the black-holed host (a loopback
# prefix leaves the namespace only with route_localnet; the black-holed host drops what it receives).
ip netns add mmmb-scale
ip link add mmmb-scale type veth peer name eth0 netns mmmb-scale
ip link set mmmb-scale master mmmb-br0 up
ip -n mmmb-scale addr add 198.18.0.2/24 dev eth0
ip -n mmmb-scale link set lo up
ip -n mmmb-scale link set eth0 up
ip netns exec mmmb-scale sysctl -qw net.ipv4.conf.all.route_localnet=1 net.ipv4.conf.eth0.route_localnet=1
ip -n mmmb-scale route add 127.1.0.0/16 via "$MMM_BENCH_VOID_IP" dev eth0

# The configuration: entries h0001.. ; the first REAL on the servers (h0001 on db1 and h0002 on db2 are the two
# masters, peers of each other, with the writer role), the rest black-holed.
{
    cat <<EOF
active_master_role      writer
agent_secret            scale-benchmark-secret-0123456789

<host default>
    cluster_interface       eth0
    agent_port              19989
    replication_user        $MMM_BENCH_REPL_USER
    replication_password    $MMM_BENCH_REPL_PASSWORD
    agent_user              $MMM_BENCH_ADMIN_USER
    agent_password          $MMM_BENCH_ADMIN_PASSWORD
    monitor_user            $MMM_BENCH_ADMIN_USER
    monitor_password        $MMM_BENCH_ADMIN_PASSWORD
</host>

EOF
    for i in $(seq 1 "$HOSTS"); do
        name=$(printf 'h%04d' "$i")
        if ((i <= REAL)); then
            IFS=$'\t' read -r _ _ port _ <<<"${SERVER_LINES[$(((i - 1) % SERVERS))]}"
            ip=${REAL_IPS[$((i - 1))]}
        else
            j=$((i - REAL - 1))
            ip=127.1.$((j / 250)).$((j % 250 + 1))
            port=3306
        fi
        printf '<host %s>\n    ip          %s\n    mysql_port  %s\n' "$name" "$ip" "$port"
        case $i in
            1) printf '    mode        master\n    peer        h0002\n' ;;
            2) printf '    mode        master\n    peer        h0001\n' ;;
            *) printf '    mode        slave\n' ;;
        esac
        printf '</host>\n\n'
    done
    cat <<EOF
<role writer>
    hosts   h0001, h0002
    ips     198.18.0.200
    mode    exclusive
</role>

<role reader>
    hosts   h0001, h0002
    ips     198.18.0.201, 198.18.0.202
    mode    balanced
</role>
EOF
} >"$WORK/mmm_common.conf"
cat >"$WORK/mmm_mon.conf" <<EOF
include mmm_common.conf

<monitor>
    ip                      127.0.0.1
    port                    19988
    pid_path                $WORK/mmm_mond.pid
    bin_path                /usr/libexec/mysql-mmm
    status_path             $WORK/mmm_mond.status
    ping_ips                198.18.0.1
    cadence_report_interval $DURATION
</monitor>

<check ping>
    check_period    1
</check>
<check mysql>
    check_period    1
</check>
<check rep_threads>
    check_period    1
</check>
<check rep_backlog>
    check_period    1
</check>
EOF
chmod 600 "$WORK"/*.conf

say "starting mmm_mond: $HOSTS hosts ($REAL on $SERVERS servers, $((HOSTS - REAL)) black-holed), every check every 1 s"
ip netns exec mmmb-scale "$MOND" --config-dir "$WORK" --log-level info >"$WORK/mmm_mond.log" 2>&1 &
MOND_PID=$!
TICKS=$(getconf CLK_TCK)

cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$MOND_PID/stat"; }
status_kb() { awk -v key="$1:" '$1 == key { print $2 }' "/proc/$MOND_PID/status"; }
reports() { grep -c 'Check cadence' "$WORK/mmm_mond.log" || true; }
now_ms() { date +%s%3N; }

# Waits until mmm_mond has written `count` cadence lines (4 per report), showing progress; bounded.
wait_reports() {
    local count=$1 deadline=$(($(date +%s) + DURATION + 60)) last=0
    while (($(reports) < count)); do
        kill -0 "$MOND_PID" 2>/dev/null || { echo "mmm_mond exited" >&2; exit 1; }
        (($(date +%s) < deadline)) || { echo "no cadence report within $((DURATION + 60)) s" >&2; exit 1; }
        if (($(date +%s) - last >= 10)); then
            last=$(date +%s)
            say "$2: RSS $(($(status_kb VmRSS) / 1024)) MB, $(status_kb Threads) threads"
        fi
        sleep 0.2
    done
}

wait_reports 4 "start-up window"
start_ticks=$(cpu_ticks)
start_ms=$(now_ms)
peak_rss=0
deadline=$(($(date +%s) + DURATION + 60))
last=0
while (($(reports) < 8)); do
    kill -0 "$MOND_PID" 2>/dev/null || { echo "mmm_mond exited" >&2; exit 1; }
    (($(date +%s) < deadline)) || { echo "no second cadence report within $((DURATION + 60)) s" >&2; exit 1; }
    rss=$(status_kb VmRSS)
    ((rss > peak_rss)) && peak_rss=$rss
    if (($(date +%s) - last >= 10)); then
        last=$(date +%s)
        elapsed=$((($(now_ms) - start_ms) / 1000))
        cpu=$(awk -v t="$(($(cpu_ticks) - start_ticks))" -v hz="$TICKS" -v ms="$(($(now_ms) - start_ms))" \
            'BEGIN { if (ms > 0) printf "%.1f", 100 * t / hz / (ms / 1000); else print 0 }')
        say "measuring ${elapsed}/${DURATION} s: CPU ${cpu}% of one core, RSS $((rss / 1024)) MB, $(status_kb Threads) threads"
    fi
    sleep 0.2
done
end_ticks=$(cpu_ticks)
end_ms=$(now_ms)
rss=$(status_kb VmRSS)
((rss > peak_rss)) && peak_rss=$rss
hwm=$(status_kb VmHWM)
threads=$(status_kb Threads)
cpu=$(awk -v t="$((end_ticks - start_ticks))" -v hz="$TICKS" -v ms="$((end_ms - start_ms))" \
    'BEGIN { printf "%.1f", 100 * t / hz / (ms / 1000) }')
window_s=$(awk -v ms="$((end_ms - start_ms))" 'BEGIN { printf "%.1f", ms / 1000 }')
state_changes=$(grep -c "State of host" "$WORK/mmm_mond.log" || true)
say "window done: CPU $cpu% of one core over $window_s s, RSS $((rss / 1024)) MB (peak $((peak_rss / 1024)) MB, HWM $((hwm / 1024)) MB), $threads threads"

# The second report's four lines: one per check kind.
value() { grep -o "mmm\.$2=[0-9.]*" <<<"$1" | head -1 | cut -d= -f2; }
rows=
behind=0
while IFS= read -r line; do
    check=$(grep -o 'mmm\.check=[a-z_]*' <<<"$line" | cut -d= -f2)
    for group in passing failing; do
        rows+="| $check | $([[ $group == passing ]] && echo "passing (real servers)" || echo "failing (black-holed)") "
        rows+="| $(value "$line" "$group.hosts") | $(value "$line" "$group.intervals") "
        rows+="| $(value "$line" "$group.median_ms") | $(value "$line" "$group.p99_ms") | $(value "$line" "$group.max_ms") "
        rows+="| $(value "$line" "$group.skipped_ticks") | $(value "$line" "$group.guard_expired") |"$'\n'
    done
    grep -q 'fell behind' <<<"$line" && behind=1
done < <(grep 'Check cadence' "$WORK/mmm_mond.log" | sed -n '5,8p')

machine="$(nproc) cores ($(awk -F': ' '/model name/ { print $2; exit }' /proc/cpuinfo)), $(awk '/MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo), $(uname -sr), $(mariadbd --version 2>/dev/null | awk '{ print $3 }')"
load=$(cut -d' ' -f1-3 /proc/loadavg)
cpu_verdict=$(awk -v c="$cpu" 'BEGIN { print (c < 10) ? "meets the target (under 10%)" : sprintf("misses the target by %.1f points (%.1fx)", c - 10, c / 10) }')
mem_mb=$(((peak_rss > hwm ? peak_rss : hwm) / 1024))
mem_verdict=$( ((mem_mb < 100)) && echo "meets the target (under 100 MB)" || echo "misses the target by $((mem_mb - 100)) MB")
section=$(cat <<EOF
## Scale: one mmm_mond, $HOSTS hosts ($(date -u '+%Y-%m-%d %H:%M UTC'), scripts/scale-benchmark.sh)

Machine: $machine; load average $load at the end. mmm_mond release build, \`--log-level info\`, no agents running.
Hosts: $HOSTS entries, $REAL on $SERVERS real mariadbd servers in namespaces (extra addresses on the servers), $((HOSTS - REAL))
black-holed (127.1.x.y, routed from mmm_mond's namespace to the bench's host that drops everything: connects and
pings hang until their deadline). Every check (\`ping\`, \`mysql\`,
\`rep_threads\`, \`rep_backlog\`) every 1 s (\`check_period 1\`, default timeouts), so $((HOSTS * 4)) probes per second
planned. Window: $window_s s between mmm_mond's first and second cadence reports (start-up excluded).

| figure | value | target |
| --- | ---: | --- |
| CPU, share of one core (utime+stime over the window) | $cpu% | $cpu_verdict |
| resident memory at the end (VmRSS) | $((rss / 1024)) MB | |
| peak resident memory (VmHWM, whole run) | $((hwm / 1024)) MB | $mem_verdict |
| threads | $threads | |
| host state changes logged (whole run) | $state_changes | |

Check intervals (time between two consecutive probe starts of the same host and check, from mmm_mond's
\`Check cadence\` log line; hosts grouped by their latest outcome: passing = the entries on real servers):

| check | hosts | entries | intervals | median (ms) | p99 (ms) | max (ms) | skipped ticks | guard expiries |
| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |
${rows%$'\n'}

EOF
)
if ((behind)); then
    section+=$'\n'"mmm_mond logged that the checks of answering hosts fell behind (p99 over twice the period)."$'\n'
fi
printf '%s\n' "$section"

# Rewrites this command's section of BENCHMARKS.md (between its markers), or appends it.
begin='<!-- scale-benchmark:begin -->'
end='<!-- scale-benchmark:end -->'
python3 - "$begin" "$end" "$section" <<'PY'
import sys
begin, end, section = sys.argv[1], sys.argv[2], sys.argv[3]
block = f"{begin}\n{section.rstrip()}\n{end}\n"
text = open("BENCHMARKS.md").read() if __import__("os").path.exists("BENCHMARKS.md") else "# swift-mmm benchmarks\n\n"
if begin in text and end in text:
    start = text.index(begin)
    stop = text.index(end, start) + len(end)
    if text[stop:stop + 1] == "\n":
        stop += 1
    text = text[:start] + block + text[stop:]
else:
    text += ("" if text.endswith("\n\n") else "\n") + block
open("BENCHMARKS.md", "w").write(text)
PY
say "wrote the scale section of BENCHMARKS.md"
