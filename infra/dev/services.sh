#!/usr/bin/env bash
# The real services for development and CI, on loopback, all state under var/services/:
#   PostgreSQL 127.0.0.1:54329 (a cluster of the project's own, Debian's binaries)
#   PgBouncer  127.0.0.1:64329 (transaction pooling, in front of that cluster)
#   Redis      127.0.0.1:63799 (no persistence)
#   RabbitMQ   127.0.0.1:56729 (node kentra@localhost, epmd 43699, distribution 56739)
#
#   infra/dev/services.sh start    install what is missing (apt), start what is not running
#   infra/dev/services.sh stop     stop what start started (pid files under var/services/)
#   … start|stop postgres pgbouncer   only those (of postgres, pgbouncer, redis, rabbitmq)
#   infra/dev/services.sh status   what runs and answers
#   infra/dev/services.sh env      the URLs, for a shell: eval "$(infra/dev/services.sh env)"
#   infra/dev/services.sh rabbitmqctl|rabbitmq-diagnostics …   RabbitMQ's CLI on this node
#
# Nothing here uses systemd or Debian's system instances: each server runs from its own
# directory with its own configuration, so it never meets the package's cluster or services.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
RUN_DIR=${KENTRA_SERVICES_DIR:-$ROOT/var/services}
HOST=127.0.0.1
PG_PORT=54329
BOUNCER_PORT=64329
REDIS_PORT=63799
AMQP_PORT=56729
EPMD_PORT=43699
DIST_PORT=56739
# rabbitmqctl's own distribution ports (its default is 35672-35682).
CTL_DIST_MIN=56740
CTL_DIST_MAX=56749
READY_TIMEOUT=${KENTRA_SERVICES_TIMEOUT:-120}

PG_DIR=$RUN_DIR/pg
PG_DATA=$PG_DIR/data
BOUNCER_DIR=$RUN_DIR/pgbouncer
REDIS_DIR=$RUN_DIR/redis
RABBIT_DIR=$RUN_DIR/rabbitmq
RABBIT_BIN=/usr/lib/rabbitmq/bin

DATABASE_URL="postgresql://postgres@$HOST:$PG_PORT/kentra"
PGBOUNCER_URL="postgresql://postgres@$HOST:$BOUNCER_PORT/kentra"
REDIS_URL="redis://$HOST:$REDIS_PORT/0"
AMQP_URL="amqp://guest:guest@$HOST:$AMQP_PORT//"

say() { printf '%-10s %s\n' "$1" "$2"; }
# fail <name> <reason> [log…]: the reason and the last lines of each log, then exit 1.
fail() {
  say "$1" "FAILED: $2" >&2
  shift 2
  local log
  for log in "$@"; do
    if [ -s "$log" ]; then
      echo "--- last lines of $log:" >&2
      tail -n 25 "$log" >&2
    fi
  done
  exit 1
}
now() { echo "${EPOCHREALTIME/,/.}"; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1fs", b - a }'; }

# PostgreSQL and PgBouncer refuse to run as root: as root they run as Debian's `postgres`
# user (created by the package), otherwise as the caller.
if [ "$(id -u)" = 0 ]; then
  SERVICE_USER=postgres
  as_service_user() { runuser -u "$SERVICE_USER" -- "$@"; }
else
  SERVICE_USER=$(id -un)
  as_service_user() { "$@"; }
fi
SUDO=$([ "$(id -u)" = 0 ] || echo sudo)

pg_bin() {
  local bin
  bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
  [ -n "$bin" ] && [ -x "$bin/postgres" ] && echo "$bin"
}

# A process that exited stays a zombie until init reaps it (seconds here): not alive.
alive() {
  local state
  state=$([ -n "${1:-}" ] && ps -o stat= -p "$1" 2>/dev/null) || return 1
  [ -n "$state" ] && [ "${state:0:1}" != Z ]
}
pid_in() { [ -f "$1" ] && head -n 1 "$1" | tr -dc 0-9 || true; }
port_open() { (exec 3<>"/dev/tcp/$HOST/$1") 2>/dev/null; }
port_owner() { ss -Hltnp "sport = :$1" 2>/dev/null | head -n 1 | sed 's/.*users://' || true; }

# Wait until a check succeeds, or fail with the service's log:
#   await <name> <logs (space-separated)> <pid file> <start time> <what to print> <check command…>
await() {
  local name=$1 log=$2 pid_file=$3 started=$4 what=$5
  shift 5
  local begin=$SECONDS pid
  until "$@" >/dev/null 2>&1; do
    pid=$(pid_in "$pid_file")
    if [ -n "$pid" ] && ! alive "$pid"; then
      fail "$name" "exited while starting (pid $pid)" $log
    fi
    if [ -z "$pid" ] && [ $((SECONDS - begin)) -gt 10 ]; then
      fail "$name" "no process: $pid_file was not written" $log
    fi
    [ $((SECONDS - begin)) -lt "$READY_TIMEOUT" ] || fail "$name" "no answer within ${READY_TIMEOUT}s" $log
    sleep 0.2
  done
  say "$name" "ready in $(since "$started") ($what)"
}

# Refuse to start on a port someone else holds (a system instance, another checkout).
claim_port() {
  if port_open "$2"; then
    fail "$1" "port $HOST:$2 is already in use by another process: $(port_owner "$2")"
  fi
}

# --- installation ---------------------------------------------------------------------------

install_missing() {
  local missing=()
  pg_bin >/dev/null || missing+=(postgresql)
  command -v pgbouncer >/dev/null || missing+=(pgbouncer)
  { command -v redis-server && command -v redis-cli; } >/dev/null || missing+=(redis-server)
  [ -x "$RABBIT_BIN/rabbitmq-server" ] && command -v epmd >/dev/null || missing+=(rabbitmq-server)
  [ ${#missing[@]} -gt 0 ] || return 0
  command -v apt-get >/dev/null || fail install "missing ${missing[*]} and apt-get is unavailable: install them"
  local started
  started=$(now)
  say install "${missing[*]} (Debian packages)"
  # The packages' own services must not start: they would hold the default ports and a
  # system cluster we never use. policy-rc.d is Debian's switch for that (containers ship
  # one); lend one for this install when the machine has none.
  local policy=/usr/sbin/policy-rc.d lent=
  if [ ! -e "$policy" ]; then
    trap '$SUDO rm -f "$policy"' EXIT
    printf '#!/bin/sh\n# lent by kentra infra/dev/services.sh during apt-get install\nexit 101\n' |
      $SUDO tee "$policy" >/dev/null
    $SUDO chmod 755 "$policy"
    lent=1
  fi
  local rc=0
  {
    $SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -qq &&
      $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
        "${missing[@]}"
  } >"$RUN_DIR/apt.log" 2>&1 || rc=$?
  if [ -n "$lent" ]; then
    $SUDO rm -f "$policy"
    trap - EXIT
  fi
  [ "$rc" = 0 ] || fail install "apt-get install ${missing[*]} exited with $rc" "$RUN_DIR/apt.log"
  say install "done in $(since "$started")"
}

# --- PostgreSQL -----------------------------------------------------------------------------

pg_answers() {
  "$(pg_bin)/psql" -h "$HOST" -p "$1" -U postgres -d postgres -Atqc 'SELECT 1' 2>/dev/null | grep -qx 1
}

pg_start() {
  local bin started
  bin=$(pg_bin)
  started=$(now)
  if alive "$(pid_in "$PG_DATA/postmaster.pid")"; then
    await postgres "$PG_DIR/postgresql.log" "$PG_DATA/postmaster.pid" "$started" \
      "already running, $HOST:$PG_PORT" pg_answers "$PG_PORT"
    return
  fi
  claim_port postgres "$PG_PORT"
  mkdir -p "$PG_DIR"
  [ "$(id -u)" != 0 ] || chown "$SERVICE_USER:" "$PG_DIR"
  if [ ! -f "$PG_DATA/PG_VERSION" ]; then
    as_service_user "$bin/initdb" -D "$PG_DATA" -U postgres --auth=trust --encoding=UTF8 \
      --locale=C.UTF-8 >"$PG_DIR/initdb.log" 2>&1 ||
      fail postgres "initdb failed" "$PG_DIR/initdb.log"
    echo "include_if_exists = 'kentra.conf'" | as_service_user tee -a "$PG_DATA/postgresql.conf" >/dev/null
  fi
  local version
  version=$(cat "$PG_DATA/PG_VERSION")
  [ "$bin" = "/usr/lib/postgresql/$version/bin" ] ||
    fail postgres "$PG_DATA holds a PostgreSQL $version cluster, the binaries are $bin: remove $PG_DIR"
  # Rewritten at each start, so a change here applies on the next one.
  as_service_user tee "$PG_DATA/kentra.conf" >/dev/null <<EOF
# Written by infra/dev/services.sh at each start.
listen_addresses = '$HOST'
port = $PG_PORT
unix_socket_directories = ''
# PgBouncer's server connections plus the direct ones (test runs, workers, benchmarks).
max_connections = 200
# A throwaway development and CI cluster: durability traded for speed (tests create and drop
# databases constantly). Never keep data here you cannot recreate.
fsync = off
synchronous_commit = off
full_page_writes = off
logging_collector = off
log_min_messages = warning
EOF
  rm -f "$PG_DATA/postmaster.pid" 2>/dev/null || true # stale: checked above that it is not alive
  as_service_user "$bin/pg_ctl" -D "$PG_DATA" -l "$PG_DIR/postgresql.log" -s -w -t "$READY_TIMEOUT" start 9>&- ||
    fail postgres "pg_ctl start failed" "$PG_DIR/postgresql.log"
  await postgres "$PG_DIR/postgresql.log" "$PG_DATA/postmaster.pid" "$started" \
    "$HOST:$PG_PORT, PostgreSQL $version, data $PG_DATA" pg_answers "$PG_PORT"
  # The database the printed URLs name (make run with KENTRA_DATABASE_URL needs it to exist).
  "$bin/psql" -h "$HOST" -p "$PG_PORT" -U postgres -d postgres -Atqc \
    "SELECT 1 FROM pg_database WHERE datname = 'kentra'" | grep -qx 1 ||
    "$bin/createdb" -h "$HOST" -p "$PG_PORT" -U postgres kentra
}

pg_stop() {
  local pid
  pid=$(pid_in "$PG_DATA/postmaster.pid")
  if ! alive "$pid"; then
    say postgres "not running"
    return
  fi
  local started
  started=$(now)
  as_service_user "$(pg_bin)/pg_ctl" -D "$PG_DATA" -s -m fast -w -t 60 stop
  say postgres "stopped in $(since "$started") (pid $pid)"
}

# --- PgBouncer ------------------------------------------------------------------------------

bouncer_start() {
  local started pid_file=$BOUNCER_DIR/pgbouncer.pid
  started=$(now)
  if alive "$(pid_in "$pid_file")"; then
    await pgbouncer "$BOUNCER_DIR/pgbouncer.log" "$pid_file" "$started" \
      "already running, $HOST:$BOUNCER_PORT" pg_answers "$BOUNCER_PORT"
    return
  fi
  claim_port pgbouncer "$BOUNCER_PORT"
  mkdir -p "$BOUNCER_DIR"
  [ "$(id -u)" != 0 ] || chown "$SERVICE_USER:" "$BOUNCER_DIR"
  # trust: the cluster behind trusts loopback too. The user must still be listed.
  echo '"postgres" ""' | as_service_user tee "$BOUNCER_DIR/userlist.txt" >/dev/null
  as_service_user tee "$BOUNCER_DIR/pgbouncer.ini" >/dev/null <<EOF
; Written by infra/dev/services.sh at each start.
[databases]
; Every database of the project's cluster (tests use one of their own per run).
* = host=$HOST port=$PG_PORT

[pgbouncer]
listen_addr = $HOST
listen_port = $BOUNCER_PORT
unix_socket_dir =
auth_type = trust
auth_file = $BOUNCER_DIR/userlist.txt
admin_users = postgres
stats_users = postgres
; A server connection serves one transaction at a time, then returns to the pool. Session
; state does not survive it: the platform keeps its per-tenant state transaction-local
; (set_config(..., true), pg_advisory_xact_lock) and turns psycopg's prepared statements off
; behind it (KENTRA_DB_PREPARE_THRESHOLD=off; PgBouncer 1.18 cannot track them). ADR 0021.
pool_mode = transaction
; Per database and user. The suites' threads use a few connections each (the threaded
; isolation test: 8 threads over a pool of 2), a benchmark's gunicorn workers 5 to 10 each.
default_pool_size = 20
reserve_pool_size = 5
reserve_pool_timeout = 3
max_client_conn = 400
; At most this many server connections to the cluster (max_connections 200).
max_db_connections = 100
server_idle_timeout = 60
; Not a parameter PgBouncer tracks; some clients send it at startup.
ignore_startup_parameters = extra_float_digits
log_connections = 0
log_disconnections = 0
logfile = $BOUNCER_DIR/pgbouncer.log
pidfile = $pid_file
EOF
  rm -f "$pid_file"
  # Before daemonizing it reports to the terminal; afterwards to its logfile (its own).
  as_service_user pgbouncer -d "$BOUNCER_DIR/pgbouncer.ini" >"$BOUNCER_DIR/console.log" 2>&1 9>&- ||
    fail pgbouncer "pgbouncer did not start" "$BOUNCER_DIR/console.log" "$BOUNCER_DIR/pgbouncer.log"
  await pgbouncer "$BOUNCER_DIR/console.log $BOUNCER_DIR/pgbouncer.log" "$pid_file" "$started" \
    "$HOST:$BOUNCER_PORT, transaction pooling → $HOST:$PG_PORT" pg_answers "$BOUNCER_PORT"
}

# Stop the process in a pid file with a signal, wait for it to go.
stop_pid() {
  local name=$1 pid_file=$2 signal=$3 pid started
  pid=$(pid_in "$pid_file")
  if ! alive "$pid"; then
    say "$name" "not running"
    rm -f "$pid_file"
    return
  fi
  started=$(now)
  kill "-$signal" "$pid"
  local deadline=$((SECONDS + 60))
  while alive "$pid"; do
    if [ "$SECONDS" -ge "$deadline" ]; then
      kill -KILL "$pid" 2>/dev/null || true
      say "$name" "did not stop within 60s: killed (pid $pid)"
      break
    fi
    sleep 0.1
  done
  rm -f "$pid_file"
  say "$name" "stopped in $(since "$started") (pid $pid)"
}

# --- Redis ----------------------------------------------------------------------------------

redis_answers() { [ "$(redis-cli -h "$HOST" -p "$REDIS_PORT" ping 2>/dev/null)" = PONG ]; }

redis_start() {
  local started pid_file=$REDIS_DIR/redis.pid
  started=$(now)
  if alive "$(pid_in "$pid_file")"; then
    await redis "$REDIS_DIR/redis.log" "$pid_file" "$started" \
      "already running, $HOST:$REDIS_PORT" redis_answers
    return
  fi
  claim_port redis "$REDIS_PORT"
  mkdir -p "$REDIS_DIR"
  rm -f "$pid_file"
  # No configuration file: everything on the command line, nothing persisted.
  redis-server --bind "$HOST" --port "$REDIS_PORT" --unixsocket '' --save '' --appendonly no \
    --dir "$REDIS_DIR" --daemonize yes --pidfile "$pid_file" --logfile "$REDIS_DIR/redis.log" 9>&- ||
    fail redis "redis-server did not start" "$REDIS_DIR/redis.log"
  await redis "$REDIS_DIR/redis.log" "$pid_file" "$started" \
    "$HOST:$REDIS_PORT, Redis $(redis-server --version | awk '{print $3}' | cut -d= -f2)" redis_answers
}

# --- RabbitMQ -------------------------------------------------------------------------------

# Everything RabbitMQ and its CLI read, pointed at var/services/rabbitmq: a node name, ports,
# cookie (HOME) and epmd of its own, so it never meets a system node (rabbit@<host>, 5672,
# epmd 4369) nor reads /etc/rabbitmq.
rabbit_env() {
  export HOME=$RABBIT_DIR
  export RABBITMQ_NODENAME=kentra@localhost
  export RABBITMQ_USE_LONGNAME=false
  export RABBITMQ_NODE_IP_ADDRESS=$HOST
  export RABBITMQ_NODE_PORT=$AMQP_PORT
  export RABBITMQ_DIST_PORT=$DIST_PORT
  export RABBITMQ_CTL_DIST_PORT_MIN=$CTL_DIST_MIN
  export RABBITMQ_CTL_DIST_PORT_MAX=$CTL_DIST_MAX
  export ERL_EPMD_PORT=$EPMD_PORT
  export ERL_EPMD_ADDRESS=$HOST
  export RABBITMQ_CONF_ENV_FILE=$RABBIT_DIR/rabbitmq-env.conf
  export RABBITMQ_CONFIG_FILE=$RABBIT_DIR/rabbitmq.conf
  export RABBITMQ_ADVANCED_CONFIG_FILE=$RABBIT_DIR/advanced.config
  export RABBITMQ_ENABLED_PLUGINS_FILE=$RABBIT_DIR/enabled_plugins
  export RABBITMQ_MNESIA_BASE=$RABBIT_DIR/mnesia
  export RABBITMQ_LOG_BASE=$RABBIT_DIR/log
  export RABBITMQ_PID_FILE=$RABBIT_DIR/rabbitmq.pid
  # Our epmd, started and stopped with the node; distribution on loopback only.
  export RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS="-start_epmd false -kernel inet_dist_use_interface {127,0,0,1}"
  export RABBITMQ_CTL_ERL_ARGS="-start_epmd false"
}

# An AMQP 0-9-1 protocol header; the broker answers with Connection.Start (a method frame:
# type 1 on channel 0).
amqp_answers() {
  local reply
  reply=$(timeout 5 bash -c "exec 3<>/dev/tcp/$HOST/$AMQP_PORT; printf 'AMQP\\000\\000\\011\\001' >&3; head -c 3 <&3" 2>/dev/null |
    od -An -tx1 | tr -d ' \n')
  [ "$reply" = 010000 ]
}

rabbit_start() {
  local started pid_file=$RABBIT_DIR/launcher.pid epmd_pid_file=$RABBIT_DIR/epmd.pid
  started=$(now)
  if alive "$(pid_in "$pid_file")"; then
    await rabbitmq "$RABBIT_DIR/log/startup.log" "$pid_file" "$started" \
      "already running, $HOST:$AMQP_PORT" amqp_answers
    return
  fi
  claim_port rabbitmq "$AMQP_PORT"
  claim_port rabbitmq "$DIST_PORT"
  mkdir -p "$RABBIT_DIR/mnesia" "$RABBIT_DIR/log"
  : >"$RABBIT_DIR/rabbitmq-env.conf"
  echo '[].' >"$RABBIT_DIR/enabled_plugins"
  cat >"$RABBIT_DIR/rabbitmq.conf" <<EOF
# Written by infra/dev/services.sh at each start.
listeners.tcp.default = $HOST:$AMQP_PORT
# guest/guest, from loopback only (RabbitMQ's default, stated).
loopback_users.guest = true
log.console = false
log.file.level = warning
EOF
  rabbit_env
  if ! alive "$(pid_in "$epmd_pid_file")"; then
    claim_port epmd "$EPMD_PORT"
    setsid epmd -port "$EPMD_PORT" -address "$HOST" </dev/null >>"$RABBIT_DIR/log/epmd.log" 2>&1 9>&- &
    echo $! >"$epmd_pid_file"
  fi
  rm -f "$RABBIT_DIR/rabbitmq.pid"
  # The launcher script stays in front of the Erlang VM and turns SIGTERM into a clean stop.
  setsid "$RABBIT_BIN/rabbitmq-server" </dev/null >>"$RABBIT_DIR/log/startup.log" 2>&1 9>&- &
  echo $! >"$pid_file"
  await rabbitmq "$RABBIT_DIR/log/startup.log" "$pid_file" "$started" \
    "$HOST:$AMQP_PORT, node $RABBITMQ_NODENAME, epmd $HOST:$EPMD_PORT, distribution $HOST:$DIST_PORT" \
    amqp_answers
}

rabbit_stop() {
  # The launcher stops the VM on SIGTERM and waits for it.
  stop_pid rabbitmq "$RABBIT_DIR/launcher.pid" TERM
  local vm
  vm=$(pid_in "$RABBIT_DIR/rabbitmq.pid")
  if alive "$vm"; then
    stop_pid rabbitmq-vm "$RABBIT_DIR/rabbitmq.pid" TERM
  fi
  rm -f "$RABBIT_DIR/rabbitmq.pid"
  stop_pid epmd "$RABBIT_DIR/epmd.pid" TERM
}

# --- commands -------------------------------------------------------------------------------

# One start or stop at a time. The servers must not inherit the lock (9>&- where they start).
lock() {
  mkdir -p "$RUN_DIR"
  exec 9>"$RUN_DIR/.lock"
  flock 9
}

SERVICES=(postgres pgbouncer redis rabbitmq)
# chosen <name> <names…>: whether the command names it (no names: every service).
chosen() {
  local name=$1
  shift
  [ $# = 0 ] && return 0
  [[ " $* " == *" $name "* ]]
}
check_names() {
  local name
  for name in "$@"; do
    chosen "$name" "${SERVICES[@]}" || { echo "unknown service: $name (${SERVICES[*]})" >&2; exit 2; }
  done
}

start() {
  check_names "$@"
  lock
  local started
  started=$(now)
  install_missing
  ! chosen postgres "$@" || pg_start
  ! chosen pgbouncer "$@" || bouncer_start
  ! chosen redis "$@" || redis_start
  ! chosen rabbitmq "$@" || rabbit_start
  say services "ready in $(since "$started"); URLs: infra/dev/services.sh env"
}

stop() {
  check_names "$@"
  lock
  ! chosen rabbitmq "$@" || rabbit_stop
  ! chosen redis "$@" || stop_pid redis "$REDIS_DIR/redis.pid" TERM
  ! chosen pgbouncer "$@" || stop_pid pgbouncer "$BOUNCER_DIR/pgbouncer.pid" TERM
  if chosen postgres "$@"; then
    if pg_bin >/dev/null; then pg_stop; else say postgres "not installed"; fi
  fi
}

status() {
  local down=0
  line() {
    local name=$1 pid=$2 where=$3
    shift 3
    if alive "$pid" && "$@" >/dev/null 2>&1; then
      say "$name" "running, answers (pid $pid, $where)"
    elif alive "$pid"; then
      say "$name" "running but not answering (pid $pid, $where)"
      down=1
    else
      say "$name" "not running"
      down=1
    fi
  }
  if pg_bin >/dev/null; then
    line postgres "$(pid_in "$PG_DATA/postmaster.pid")" "$HOST:$PG_PORT" pg_answers "$PG_PORT"
    line pgbouncer "$(pid_in "$BOUNCER_DIR/pgbouncer.pid")" "$HOST:$BOUNCER_PORT" pg_answers "$BOUNCER_PORT"
  else
    say postgres "not installed"
    down=1
  fi
  line redis "$(pid_in "$REDIS_DIR/redis.pid")" "$HOST:$REDIS_PORT" redis_answers
  line rabbitmq "$(pid_in "$RABBIT_DIR/rabbitmq.pid")" "$HOST:$AMQP_PORT" amqp_answers
  line epmd "$(pid_in "$RABBIT_DIR/epmd.pid")" "$HOST:$EPMD_PORT" port_open "$EPMD_PORT"
  return "$down"
}

print_env() {
  cat <<EOF
# Kentra's services (infra/dev/services.sh). Point the platform at them, e.g.
#   KENTRA_DATABASE_URL=\$KENTRA_SERVICES_DATABASE_URL KENTRA_BROKER_URL=\$KENTRA_SERVICES_REDIS_URL make run
# Through PgBouncer also set KENTRA_DB_PREPARE_THRESHOLD=off (docs/adr/0021).
export KENTRA_SERVICES_DATABASE_URL=$DATABASE_URL
export KENTRA_SERVICES_PGBOUNCER_URL=$PGBOUNCER_URL
export KENTRA_SERVICES_REDIS_URL=$REDIS_URL
export KENTRA_SERVICES_AMQP_URL=$AMQP_URL
EOF
}

case "${1:-}" in
  start) start "${@:2}" ;;
  stop) stop "${@:2}" ;;
  status) status ;;
  env) print_env ;;
  rabbitmqctl | rabbitmq-diagnostics)
    rabbit_env
    exec "$RABBIT_BIN/$1" "${@:2}"
    ;;
  *)
    echo "usage: $0 start|stop [service…]|status|env|rabbitmqctl …|rabbitmq-diagnostics …" >&2
    exit 2
    ;;
esac
