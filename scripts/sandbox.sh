#!/usr/bin/env bash
# A local sandbox cluster for newcomers: db1 <-> db2 master-master by GTID and db3 a replica of db1, each a real
# mariadbd in its own network namespace on 198.18.0.0/24, an MMM config for it, and what every server reports.
#
#   scripts/sandbox.sh [up]    build, start the cluster, write the config, validate it, probe every host
#   scripts/sandbox.sh show    probe every host again (mmm_control probe)
#   scripts/sandbox.sh down    stop everything and remove all data
#
# Needs root (namespaces). The config is written to /tmp/mmm-sandbox/etc (mode 600: it holds passwords); use it with
#   .build/debug/mmm_control --config-dir /tmp/mmm-sandbox/etc COMMAND
set -euo pipefail
cd "$(dirname "$0")/.."
CONFIG=/tmp/mmm-sandbox/etc
CONTROL=.build/debug/mmm_control

write_config() {
    rm -rf "$CONFIG"
    mkdir -p "$CONFIG"
    chmod 700 "$CONFIG"
    cat >"$CONFIG/mmm_common.conf" <<'CONF'
# swift-mmm sandbox: the bench's hosts (bench/bench.sh), in MMM's format.
active_master_role      writer

<host default>
    cluster_interface       eth0
    pid_path                /tmp/mmm-sandbox/mmm_agentd.pid
    bin_path                /usr/libexec/mysql-mmm
    replication_user        repl
    replication_password    repl_pw
    agent_user              mmm_test
    agent_password          mmm_test_pw
</host>

<host db1>
    ip      198.18.0.101
    mode    master
    peer    db2
</host>

<host db2>
    ip      198.18.0.102
    mode    master
    peer    db1
</host>

<host db3>
    ip      198.18.0.103
    mode    slave
</host>

<role writer>
    hosts   db1, db2
    ips     198.18.0.200
    mode    exclusive
</role>

<role reader>
    hosts   db1, db2, db3
    ips     198.18.0.201, 198.18.0.202, 198.18.0.203
    mode    balanced
</role>
CONF
    cat >"$CONFIG/mmm_mon.conf" <<'CONF'
include mmm_common.conf

<monitor>
    ip                  127.0.0.1
    pid_path            /tmp/mmm-sandbox/mmm_mond.pid
    bin_path            /usr/libexec/mysql-mmm
    status_path         /tmp/mmm-sandbox/mmm_mond.status
    ping_ips            198.18.0.1
    auto_set_online     10
</monitor>

<host default>
    monitor_user        mmm_test
    monitor_password    mmm_test_pw
</host>
CONF
    cat >"$CONFIG/mmm_agent.conf" <<'CONF'
include mmm_common.conf
this db1
CONF
    chmod 600 "$CONFIG"/*.conf
}

case ${1:-up} in
    up)
        scripts/install-deps.sh
        echo "=== building mmm_control"
        swift build --product mmm_control 2>&1 | tail -1
        echo "=== starting the cluster"
        bench/bench.sh up --hosts 3
        write_config
        echo "=== mmm_control --config-dir $CONFIG check-config"
        "$CONTROL" --config-dir "$CONFIG" check-config
        echo "=== mmm_control --config-dir $CONFIG probe"
        "$CONTROL" --config-dir "$CONFIG" probe
        cat <<EOF

The sandbox is running. Try:
  $CONTROL --config-dir $CONFIG probe
  mariadb -h 198.18.0.101 -u mmm_test -pmmm_test_pw       # the writer (db1)
  ip netns exec mmmb-db2 hostname                          # each host is its own namespace
Stop it with: scripts/sandbox.sh down
EOF
        ;;
    show) "$CONTROL" --config-dir "$CONFIG" probe ;;
    down)
        bench/bench.sh down
        rm -rf /tmp/mmm-sandbox
        ;;
    -h | --help | help) sed -n '2,11p' "$0" | sed 's/^# \{0,1\}//' ;;
    *) echo "unknown command '$1'; use up, show or down" >&2; exit 1 ;;
esac
