#!/usr/bin/env bash
# A local sandbox cluster for newcomers: db1 <-> db2 master-master by GTID, each a real mariadbd in its own network
# namespace on 198.18.0.0/24, an mmm_agentd in each namespace, and mmm_mond in the root namespace, all with MMM's
# config files. It prints `mmm_control show` and `mmm_control checks all` once the writer is assigned, then leaves
# everything running until you stop it.
#
#   scripts/sandbox.sh [up]    build, start the cluster, the agents and the monitor, print show and checks
#   scripts/sandbox.sh show    mmm_control show and checks all again
#   scripts/sandbox.sh down    stop the monitor, the agents and the servers, and remove all data
#
# Needs root (namespaces). The config is in /tmp/mmm-sandbox/etc (mode 600: it holds passwords); use it with
#   .build/debug/mmm_control --config-dir /tmp/mmm-sandbox/etc COMMAND
# Logs: /tmp/mmm-sandbox/mmm_mond.log and /tmp/mmm-sandbox/dbN/mmm_agentd.log.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=/tmp/mmm-sandbox
CONFIG=$ROOT/etc
BIN=.build/debug
CONTROL=$BIN/mmm_control
HOSTS=(db1 db2)

write_config() {
    rm -rf "$CONFIG"
    mkdir -p "$CONFIG"
    chmod 700 "$ROOT" "$CONFIG"
    # The monitor signs its orders; the agents accept orders only with that signature (monitor_public_key).
    local public_key_line
    public_key_line=$("$BIN/mmm_mond" --generate-signing-key "$CONFIG/monitor.key")
    cat >"$CONFIG/mmm_common.conf" <<CONF
# swift-mmm sandbox: the bench's hosts (bench/bench.sh), in MMM's format.
active_master_role      writer
agent_secret            sandbox-secret-change-me-0123456789
$public_key_line

<host default>
    cluster_interface       eth0
    bin_path                /usr/libexec/mysql-mmm
    replication_user        repl
    replication_password    repl_pw
    agent_user              mmm_test
    agent_password          mmm_test_pw
</host>

<host db1>
    ip          198.18.0.101
    mode        master
    peer        db2
    pid_path    $ROOT/db1/mmm_agentd.pid
</host>

<host db2>
    ip          198.18.0.102
    mode        master
    peer        db1
    pid_path    $ROOT/db2/mmm_agentd.pid
</host>

<role writer>
    hosts   db1, db2
    ips     198.18.0.200
    mode    exclusive
</role>

<role reader>
    hosts   db1, db2
    ips     198.18.0.201, 198.18.0.202
    mode    balanced
</role>
CONF
    cat >"$CONFIG/mmm_mon.conf" <<CONF
include mmm_common.conf

<monitor>
    ip                  127.0.0.1
    pid_path            $ROOT/mmm_mond.pid
    bin_path            /usr/libexec/mysql-mmm
    status_path         $ROOT/mmm_mond.status
    monitor_signing_key $CONFIG/monitor.key
    ping_ips            198.18.0.1
</monitor>

<host default>
    monitor_user        mmm_test
    monitor_password    mmm_test_pw
</host>
CONF
    for host in "${HOSTS[@]}"; do
        mkdir -p "$ROOT/$host"
        cp "$CONFIG/mmm_common.conf" "$ROOT/$host/"
        printf 'include mmm_common.conf\nthis %s\n' "$host" >"$ROOT/$host/mmm_agent.conf"
        chmod 600 "$ROOT/$host"/*.conf
    done
    chmod 600 "$CONFIG"/*.conf
}

# Stops a process this script started, by the pid it recorded.
stop_recorded() {
    local file=$1 pid
    [[ -f $file ]] || return 0
    pid=$(cat "$file")
    if [[ $pid =~ ^[0-9]+$ ]] && kill -0 "$pid" 2>/dev/null; then
        kill -TERM "$pid" 2>/dev/null || true
        for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$pid" 2>/dev/null || true
    fi
    rm -f "$file"
}

show() {
    echo "=== mmm_control show"
    "$CONTROL" --config-dir "$CONFIG" show || true
    echo "=== mmm_control checks all"
    "$CONTROL" --config-dir "$CONFIG" checks all || true
}

down() {
    stop_recorded "$ROOT/mmm_mond.started"
    for host in "${HOSTS[@]}"; do stop_recorded "$ROOT/$host/mmm_agentd.started"; done
    bench/bench.sh down
    rm -rf "$ROOT"
}

case ${1:-up} in
    up)
        scripts/install-deps.sh
        echo "=== building mmm_control, mmm_agentd, mmm_mond"
        swift build --product mmm_control 2>&1 | tail -1
        swift build --product mmm_agentd 2>&1 | tail -1
        swift build --product mmm_mond 2>&1 | tail -1
        if [[ -d $ROOT ]]; then down; fi
        echo "=== starting the servers (bench/bench.sh up --hosts 2)"
        bench/bench.sh up --hosts 2
        mkdir -p "$ROOT"
        write_config
        echo "=== mmm_control --config-dir $CONFIG check-config"
        "$CONTROL" --config-dir "$CONFIG" check-config
        for host in "${HOSTS[@]}"; do
            echo "=== starting mmm_agentd in namespace mmmb-$host"
            setsid ip netns exec "mmmb-$host" "$BIN/mmm_agentd" --config-dir "$ROOT/$host" \
                >"$ROOT/$host/mmm_agentd.log" 2>&1 </dev/null &
            echo $! >"$ROOT/$host/mmm_agentd.started"
        done
        echo "=== starting mmm_mond"
        setsid "$BIN/mmm_mond" --config-dir "$CONFIG" >"$ROOT/mmm_mond.log" 2>&1 </dev/null &
        echo $! >"$ROOT/mmm_mond.started"
        echo "=== waiting for the writer role to be assigned (at most 60 s)"
        for _ in $(seq 1 120); do
            if "$CONTROL" --config-dir "$CONFIG" show 2>/dev/null | grep -q 'writer(198.18.0.200)'; then break; fi
            sleep 0.5
        done
        show
        cat <<EOF

The sandbox is running. Try:
  $CONTROL --config-dir $CONFIG show
  $CONTROL --config-dir $CONFIG set_offline db1          # the writer moves to db2
  $CONTROL --config-dir $CONFIG set_online db1
  mariadb -h 198.18.0.200 -u mmm_test -pmmm_test_pw       # the writer VIP
Logs: $ROOT/mmm_mond.log, $ROOT/db1/mmm_agentd.log
Stop it with: scripts/sandbox.sh down
EOF
        ;;
    show) show ;;
    down) down ;;
    -h | --help | help) sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//' ;;
    *) echo "unknown command '$1'; use up, show or down" >&2; exit 1 ;;
esac
