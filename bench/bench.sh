#!/usr/bin/env bash
# swift-mmm test bench: N real mariadbd hosts, each in its own network namespace on 198.18.0.0/24
# (or on loopback ports with --loopback), master-master between db1 and db2 with GTID, replicas of db1.
#
#   bench/bench.sh up [--hosts N] [--loopback]     start (removes an earlier run's leftovers first)
#   bench/bench.sh down                            stop everything and remove all data
#   bench/bench.sh status                          print what is running
#   bench/bench.sh restart dbN [--rejoin]          restart one host's mariadbd (SIGTERM, SIGKILL after 30 s; or just
#                                                  start it if it is dead); --rejoin adds the startup options that
#                                                  truncate un-ACKed transactions: --init-rpl-role=SLAVE
#                                                  --rpl-semi-sync-slave-enabled=ON (docs/agent.md, zero-loss policy)
#   bench/bench.sh kill dbN [--no-wait]            SIGKILL one host's mariadbd, even frozen, and wait until it is
#                                                  gone (bench/kill_host, the monitor's kill_host_bin on the bench,
#                                                  uses --no-wait)
#
# Environment: MMM_BENCH_STATE (default /tmp/mmm-bench) holds datadirs, sockets, logs and hosts.tsv.
# Needs root (network namespaces), mariadb-server (mariadbd, mariadb-install-db, mariadb client) and iproute2.
#
# Layout (namespace mode):
#   bridge mmmb-br0 198.18.0.1/24 in the root namespace (the test process is the client there)
#   dbN    namespace mmmb-dbN, eth0 198.18.0.(100+N)/24, own UTS namespace (@@hostname = dbN)
#   void   namespace mmmb-void, 198.18.0.254: answers ARP but drops every reply (black-holed address)
# Every object this script creates carries the prefix mmmb- so that a later run can find and remove it.
set -euo pipefail

PREFIX=mmmb
STATE=${MMM_BENCH_STATE:-/tmp/mmm-bench}
SUBNET=198.18.0
BRIDGE=${PREFIX}-br0
VOID_IP=${SUBNET}.254
ADMIN_USER=mmm_test
ADMIN_PASSWORD=mmm_test_pw
REPL_USER=repl
REPL_PASSWORD=repl_pw
LOOPBACK_BASE_PORT=23306

log() { printf 'bench: %s\n' "$*" >&2; }
die() { printf 'bench: error: %s\n' "$*" >&2; exit 1; }

usage() {
    sed -n '2,20p' "$0" | sed 's/^# \{0,1\}//'
}

need() {
    for cmd in "$@"; do
        command -v "$cmd" >/dev/null 2>&1 || die "'$cmd' not found; install it (apt-get install -y mariadb-server iproute2)"
    done
}

# Kills the mariadbd processes we started, by their pid files, and waits until they are gone. A pid is signalled
# only if it is still one of our mariadbd processes (its command line names our state folder), so a stale pid file
# whose number was reused never kills another program. SIGKILL, not SIGTERM: the bench's data is deleted right after.
stop_servers() {
    local pidfile pid pids=()
    for pidfile in "$STATE"/db*/mysqld.pid; do
        [[ -f $pidfile ]] || continue
        pid=$(cat "$pidfile" 2>/dev/null || true)
        rm -f "$pidfile"
        [[ $pid =~ ^[0-9]+$ ]] || continue
        if [[ -r /proc/$pid/cmdline ]] && tr '\0' ' ' <"/proc/$pid/cmdline" | grep -q "mariadbd.*$STATE"; then
            kill -KILL "$pid" 2>/dev/null || true
            pids+=("$pid")
        fi
    done
    # A killed mariadbd lingers for about a second while the kernel tears it down; its sockets are closed by then,
    # so waiting until it is a zombie (or gone) is enough. All are killed first, so the waits overlap.
    for pid in "${pids[@]}"; do
        for _ in $(seq 1 100); do
            grep -qs '^State:[[:space:]]*[^Z]' "/proc/$pid/status" || break
            sleep 0.05
        done
    done
}

cmd_down() {
    # mariadbd processes first (by pid file), then anything left inside our own namespaces (by pid), then the
    # namespaces, links and data. Each step tolerates a half-built or already removed bench.
    if [[ -d $STATE ]]; then
        stop_servers
    fi
    if command -v ip >/dev/null 2>&1; then
        for ns in $(ip netns list 2>/dev/null | awk '{print $1}' | grep "^${PREFIX}-" || true); do
            for pid in $(ip netns pids "$ns" 2>/dev/null || true); do
                kill -KILL "$pid" 2>/dev/null || true
            done
            ip netns del "$ns" 2>/dev/null || true
        done
        for link in $(ip -o link show 2>/dev/null | awk -F': ' '{print $2}' | cut -d@ -f1 | grep "^${PREFIX}-" || true); do
            ip link del "$link" 2>/dev/null || true
        done
    fi
    rm -rf "$STATE"
}

make_template() {
    local tmpl=$STATE/template
    mkdir -p "$tmpl/data" "$tmpl/tmp"
    mariadb-install-db --no-defaults --datadir="$tmpl/data" --tmpdir="$tmpl/tmp" --user=root \
        --auth-root-authentication-method=normal --skip-test-db >"$tmpl/install.log" 2>&1 ||
        { cat "$tmpl/install.log" >&2; die "mariadb-install-db failed (log above)"; }
    # Accounts are created once in bootstrap mode, then every host copies the template datadir.
    mariadbd --no-defaults --bootstrap --datadir="$tmpl/data" --tmpdir="$tmpl/tmp" --user=root \
        --log-error="$tmpl/bootstrap.log" >/dev/null 2>&1 <<SQL || { cat "$tmpl/bootstrap.log" >&2; die "bootstrap failed"; }
FLUSH PRIVILEGES;
CREATE USER '${ADMIN_USER}'@'%' IDENTIFIED BY '${ADMIN_PASSWORD}';
GRANT ALL PRIVILEGES ON *.* TO '${ADMIN_USER}'@'%' WITH GRANT OPTION;
CREATE USER '${REPL_USER}'@'%' IDENTIFIED BY '${REPL_PASSWORD}';
GRANT REPLICATION SLAVE, REPLICATION SLAVE ADMIN ON *.* TO '${REPL_USER}'@'%';
CREATE DATABASE mmm_bench;
SQL
}

check_subnet_free() {
    local other
    other=$(ip -o -4 addr show | awk '{print $2, $4}' | grep " ${SUBNET}\." | grep -v "^${PREFIX}-" || true)
    [[ -z $other ]] || die "198.18.0.0/24 is already on an interface ($other); remove it or use --loopback"
}

setup_network() {
    local hosts=$1
    ip link add "$BRIDGE" type bridge
    ip addr add "${SUBNET}.1/24" dev "$BRIDGE"
    ip link set "$BRIDGE" up
    local i
    for i in $(seq 1 "$hosts") void; do
        local name ns ip
        if [[ $i == void ]]; then name=void; ip=$VOID_IP; else name=db$i; ip=${SUBNET}.$((100 + i)); fi
        ns=${PREFIX}-$name
        ip netns add "$ns"
        ip link add "${PREFIX}-$name" type veth peer name eth0 netns "$ns"
        ip link set "${PREFIX}-$name" master "$BRIDGE" up
        ip -n "$ns" addr add "$ip/24" dev eth0
        ip -n "$ns" link set lo up
        ip -n "$ns" link set eth0 up
    done
    # The void host drops every reply it would send (SYN-ACK or RST), so a connect to it hangs until the client's
    # deadline: the black-holed address the deadline tests need. ARP is not routed, so it still resolves.
    ip -n "${PREFIX}-void" route add blackhole "${SUBNET}.0/25"
    ip -n "${PREFIX}-void" route add blackhole "${SUBNET}.128/25"
}

write_config() {
    local i=$1 ip=$2 port=$3 mode=$4 dir=$STATE/db$i readonly=ON bind=$2
    [[ $i == 1 ]] && readonly=OFF
    # In its own namespace a host listens on every address it has, so role IPs (VIPs) moved onto it reach mariadbd
    # (the namespace holds only its own addresses). On loopback the hosts share 127.0.0.1 and bind it alone.
    [[ $mode == netns ]] && bind=0.0.0.0
    cat >"$dir/my.cnf" <<CNF
[mariadbd]
datadir=$dir/data
tmpdir=$dir/tmp
socket=$dir/mysqld.sock
pid-file=$dir/mysqld.pid
log-error=$dir/error.log
bind-address=$bind
port=$port
server-id=$i
gtid-domain-id=$i
log-bin=mysql-bin
log-slave-updates=ON
binlog-format=ROW
gtid-strict-mode=ON
skip-slave-start
skip-name-resolve
read-only=$readonly
slave-net-timeout=10
max-connections=300
innodb-buffer-pool-size=32M
innodb-buffer-pool-size-max=64M
performance-schema=OFF
innodb-use-native-aio=OFF
CNF
}

start_host() {
    # $3: extra mariadbd options (fixed strings of this script only: they go into a shell command line).
    local i=$1 mode=$2 extra=${3:-} dir=$STATE/db$i
    if [[ $mode == netns ]]; then
        # Own UTS namespace so that @@hostname is dbN; exec keeps the pid the one in the pid file.
        setsid ip netns exec "${PREFIX}-db$i" unshare --uts sh -c \
            "hostname db$i && exec mariadbd --defaults-file='$dir/my.cnf' --user=root $extra" \
            </dev/null >>"$dir/stdout.log" 2>&1 &
    else
        # shellcheck disable=SC2086 # $extra is a list of options
        setsid mariadbd --defaults-file="$dir/my.cnf" --user=root $extra </dev/null >>"$dir/stdout.log" 2>&1 &
    fi
}

wait_ready() {
    local i=$1 dir=$STATE/db$i
    for _ in $(seq 1 300); do
        if mariadb-admin --no-defaults --socket="$dir/mysqld.sock" -uroot ping >/dev/null 2>&1; then
            return 0
        fi
        sleep 0.1
    done
    tail -20 "$dir/error.log" >&2 || true
    die "db$i did not start within 30 s (error log above: $dir/error.log)"
}

sql() {
    local i=$1
    shift
    mariadb --no-defaults --socket="$STATE/db$i/mysqld.sock" -uroot -N -B -e "$*"
}

replicate() {
    local replica=$1 master_ip=$2 master_port=$3
    sql "$replica" "CHANGE MASTER TO MASTER_HOST='$master_ip', MASTER_PORT=$master_port,
        MASTER_USER='$REPL_USER', MASTER_PASSWORD='$REPL_PASSWORD', MASTER_USE_GTID=slave_pos,
        MASTER_CONNECT_RETRY=1, MASTER_HEARTBEAT_PERIOD=1; START SLAVE;"
}

cmd_up() {
    local hosts=3 mode=netns
    while [[ $# -gt 0 ]]; do
        case $1 in
            --hosts) hosts=${2:-}; shift 2 ;;
            --loopback) mode=loopback; shift ;;
            -h | --help) usage; exit 0 ;;
            *) die "unknown option '$1' for up; see 'bench.sh --help'" ;;
        esac
    done
    [[ $hosts =~ ^[0-9]+$ ]] && ((hosts >= 1 && hosts <= 9)) || die "--hosts must be 1..9, got '$hosts'"
    need mariadbd mariadb-install-db mariadb mariadb-admin
    [[ $mode == loopback ]] || need ip unshare
    [[ $(id -u) == 0 ]] || die "the bench needs root (namespaces, and mariadbd runs as root here)"

    local t0
    t0=$(date +%s%N)
    cmd_down
    mkdir -p "$STATE"
    # A failure half-way must not leave namespaces or servers behind.
    trap 'if [[ ${BENCH_UP_OK:-} != 1 ]]; then log "start failed; tearing down"; cmd_down; fi' EXIT
    if [[ $mode == netns ]]; then
        check_subnet_free
        setup_network "$hosts"
    fi
    make_template

    local i ip port
    for i in $(seq 1 "$hosts"); do
        if [[ $mode == netns ]]; then ip=${SUBNET}.$((100 + i)); port=3306; else ip=127.0.0.1; port=$((LOOPBACK_BASE_PORT + i)); fi
        mkdir -p "$STATE/db$i/tmp"
        cp -a "$STATE/template/data" "$STATE/db$i/data"
        write_config "$i" "$ip" "$port" "$mode"
        printf '%s\t%s\t%s\t%s\n' "db$i" "$ip" "$port" "$STATE/db$i/mysqld.sock" >>"$STATE/hosts.tmp"
        start_host "$i" "$mode"
    done
    for i in $(seq 1 "$hosts"); do wait_ready "$i"; done

    # db1 <-> db2 master-master; db3.. replicate from db1. All by GTID (slave_pos).
    local ip1 port1 ip2 port2
    read -r _ ip1 port1 _ < <(sed -n 1p "$STATE/hosts.tmp")
    if ((hosts >= 2)); then
        read -r _ ip2 port2 _ < <(sed -n 2p "$STATE/hosts.tmp")
        replicate 2 "$ip1" "$port1"
        replicate 1 "$ip2" "$port2"
    fi
    for i in $(seq 3 "$hosts"); do replicate "$i" "$ip1" "$port1"; done

    {
        printf '# name\tip\tport\tsocket\tpid\trole\n'
        i=0
        while IFS=$'\t' read -r name ip port sock; do
            i=$((i + 1))
            local role=replica
            ((i == 1)) && role=master
            ((i == 2)) && role=master
            printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$name" "$ip" "$port" "$sock" "$(cat "$STATE/$name/mysqld.pid")" "$role"
        done <"$STATE/hosts.tmp"
    } >"$STATE/hosts.tsv"
    rm -f "$STATE/hosts.tmp"
    cat >"$STATE/bench.env" <<ENV
MMM_BENCH_MODE=$mode
MMM_BENCH_ADMIN_USER=$ADMIN_USER
MMM_BENCH_ADMIN_PASSWORD=$ADMIN_PASSWORD
MMM_BENCH_REPL_USER=$REPL_USER
MMM_BENCH_REPL_PASSWORD=$REPL_PASSWORD
MMM_BENCH_VOID_IP=$([[ $mode == netns ]] && echo "$VOID_IP")
ENV
    BENCH_UP_OK=1
    local t1
    t1=$(date +%s%N)
    cmd_status
    printf 'bench: up in %d ms (%s mode, state in %s; stop with: %s down)\n' \
        "$(((t1 - t0) / 1000000))" "$mode" "$STATE" "$0"
}

# Restarts one host's mariadbd; with --rejoin, with the options that make an old writer truncate the transactions
# no replica ACKed (init-rpl-role=SLAVE and rpl-semi-sync-slave-enabled=ON, startup options only; facts §6.5).
cmd_restart() {
    local name=${1:-} rejoin=0 extra=""
    [[ $name =~ ^db[1-9]$ ]] || die "restart needs a host name db1..db9, got '$name'"
    shift
    while [[ $# -gt 0 ]]; do
        case $1 in
            --rejoin) rejoin=1; shift ;;
            *) die "unknown option '$1' for restart; use --rejoin or nothing" ;;
        esac
    done
    [[ -f $STATE/hosts.tsv && -f $STATE/bench.env ]] || die "the bench is not running (no $STATE/hosts.tsv)"
    grep -q "^$name	" "$STATE/hosts.tsv" || die "the bench has no host $name"
    local mode i=${name#db} dir pidfile pid
    mode=$(sed -n 's/^MMM_BENCH_MODE=//p' "$STATE/bench.env")
    dir=$STATE/db$i
    pidfile=$dir/mysqld.pid
    pid=$(cat "$pidfile" 2>/dev/null || true)
    # Signalled only if it is still our mariadbd (as in stop_servers). SIGCONT too: a frozen server ignores SIGTERM.
    if [[ $pid =~ ^[0-9]+$ && -r /proc/$pid/cmdline ]] && tr '\0' ' ' <"/proc/$pid/cmdline" | grep -q "mariadbd.*$STATE"; then
        kill -TERM "$pid" 2>/dev/null || true
        kill -CONT "$pid" 2>/dev/null || true
        local waited=0
        while grep -qs '^State:[[:space:]]*[^Z]' "/proc/$pid/status"; do
            sleep 0.1
            waited=$((waited + 1))
            if ((waited == 300)); then
                log "$name did not stop within 30 s; killing it"
                kill -KILL "$pid" 2>/dev/null || true
            fi
        done
    fi
    rm -f "$pidfile"
    ((rejoin)) && extra="--init-rpl-role=SLAVE --rpl-semi-sync-slave-enabled=ON"
    start_host "$i" "$mode" "$extra"
    wait_ready "$i"
    for _ in $(seq 1 50); do [[ -s $pidfile ]] && break; sleep 0.1; done
    pid=$(cat "$pidfile")
    awk -v name="$name" -v pid="$pid" 'BEGIN { FS = OFS = "\t" } $1 == name { $5 = pid } { print }' \
        "$STATE/hosts.tsv" >"$STATE/hosts.tsv.new"
    mv "$STATE/hosts.tsv.new" "$STATE/hosts.tsv"
    echo "bench: $name restarted (pid $pid${extra:+, options $extra})"
}

# kill_host_bin for the monitor (bench/kill_host NAME): SIGKILL of the host's mariadbd (also when frozen), so that a
# server whose agent could not make it read-only never resumes writable. Exit 0 once it is gone.
cmd_kill() {
    local name=${1:-} wait=1
    [[ ${2:-} == --no-wait ]] && wait=0
    [[ $name =~ ^db[0-9]+$ ]] || die "kill needs a host name such as db1"
    [[ -f $STATE/hosts.tsv ]] || die "the bench is not running (no $STATE/hosts.tsv)"
    grep -q "^$name	" "$STATE/hosts.tsv" || die "the bench has no host $name"
    local pid
    pid=$(cat "$STATE/$name/mysqld.pid" 2>/dev/null || true)
    if [[ $pid =~ ^[0-9]+$ && -r /proc/$pid/cmdline ]] && tr '\0' ' ' <"/proc/$pid/cmdline" | grep -q "mariadbd.*$STATE"; then
        kill -KILL "$pid" 2>/dev/null || true
        # A killed mariadbd runs no more statements, but the kernel takes up to ~1.5 s to tear it down (in-flight
        # AIO); --no-wait (kill_host_bin) returns at once, the default waits until it is gone (up to 5 s).
        if ((wait)); then
            for _ in $(seq 1 50); do grep -qs '^State:[[:space:]]*[^Z]' "/proc/$pid/status" || break; sleep 0.1; done
        fi
        echo "bench: $name's mariadbd (pid $pid) killed"
    else
        echo "bench: $name's mariadbd is not running"
    fi
}

cmd_status() {
    [[ -f $STATE/hosts.tsv ]] || { echo "bench: not running (no $STATE/hosts.tsv)"; return 0; }
    printf '%-6s %-15s %-6s %-8s %-8s %s\n' host ip port pid role socket
    grep -v '^#' "$STATE/hosts.tsv" | while IFS=$'\t' read -r name ip port sock pid role; do
        printf '%-6s %-15s %-6s %-8s %-8s %s\n' "$name" "$ip" "$port" "$pid" "$role" "$sock"
    done
    if [[ -f $STATE/bench.env ]] && grep -q '^MMM_BENCH_VOID_IP=.' "$STATE/bench.env"; then
        printf '%-6s %-15s %s\n' void "$VOID_IP" "black-holed address (drops all replies)"
    fi
}

case ${1:-} in
    up) shift; cmd_up "$@" ;;
    down) cmd_down; echo "bench: down" ;;
    status) cmd_status ;;
    restart) shift; need mariadbd mariadb-admin; [[ $(id -u) == 0 ]] || die "the bench needs root"; cmd_restart "$@" ;;
    kill) shift; [[ $(id -u) == 0 ]] || die "the bench needs root"; cmd_kill "$@" ;;
    -h | --help | help | "") usage ;;
    *) die "unknown command '$1'; use up, down, status, restart or kill" ;;
esac
