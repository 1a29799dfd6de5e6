#!/usr/bin/env bash
# A development Keycloak on loopback, all state under var/services/keycloak/ (docs/keycloak.md,
# docs/adr/0021):
#   HTTP 127.0.0.1:8180 (realm kentra: http://127.0.0.1:8180/realms/kentra)
#   management 127.0.0.1:9180 (/health/ready)
#
#   infra/dev/keycloak.sh start    obtain (Maven), verify, unpack and build once; start; import
#   infra/dev/keycloak.sh stop     stop what start started (pid file)
#   infra/dev/keycloak.sh status   exit 0 when it runs and is ready
#   infra/dev/keycloak.sh env      the platform's settings for it: eval "$(… env)"
#
# A second, separate instance (the bench's, tests/benchmarks/idp.py): another state directory
# (KENTRA_SERVICES_DIR) and other ports (KENTRA_KEYCLOAK_HTTP_PORT,
# KENTRA_KEYCLOAK_MANAGEMENT_PORT).
#
# The release is pinned (KEYCLOAK_VERSION) with its SHA-256 in infra/dev/keycloak.sha256; the zip
# comes from Maven Central through `mvn dependency:copy`, so Maven's local repository is the
# cache and a second call downloads nothing. It runs in production mode (`start --optimized`,
# built once after unpacking) with plain HTTP on loopback and the H2 file database (dev-file).
# It imports a development copy of infra/keycloak/realm-kentra.json (infra/dev/keycloak_dev_realm.py:
# known client secrets, a shorter minimum password length); when that copy changes, Keycloak's
# database is started afresh so the realm is imported again.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
KEYCLOAK_VERSION=26.7.3
ARTIFACT=org.keycloak:keycloak-quarkus-dist:$KEYCLOAK_VERSION:zip
ZIP_NAME=keycloak-quarkus-dist-$KEYCLOAK_VERSION.zip
CHECKSUMS=$ROOT/infra/dev/keycloak.sha256
REALM_EXPORT=$ROOT/infra/keycloak/realm-kentra.json
HOST=127.0.0.1
HTTP_PORT=${KENTRA_KEYCLOAK_HTTP_PORT:-8180}
MANAGEMENT_PORT=${KENTRA_KEYCLOAK_MANAGEMENT_PORT:-9180}
URL=http://$HOST:$HTTP_PORT
ISSUER=$URL/realms/kentra
READY_TIMEOUT=${KENTRA_KEYCLOAK_TIMEOUT:-240}
# The bootstrap admin of the master realm (created on the first start only).
ADMIN_USER=${KENTRA_KEYCLOAK_BOOTSTRAP_ADMIN:-admin}
ADMIN_PASSWORD=${KENTRA_KEYCLOAK_BOOTSTRAP_PASSWORD:-kentra-dev-admin}
# Supported JDKs of Keycloak 26 are 17, 21 and 25; the newest is preferred (docs/adr/0021).
JAVA_CANDIDATES=(/usr/lib/jvm/temurin-25-jdk-amd64 /usr/lib/jvm/java-25-openjdk-amd64
  /usr/lib/jvm/temurin-21-jdk-amd64 /usr/lib/jvm/java-21-openjdk-amd64
  /usr/lib/jvm/java-17-openjdk-amd64)
# Build-time options, baked in by `kc.sh build` (a change rebuilds).
BUILD_OPTIONS=(--db=dev-file --health-enabled=true --features=organization)

RUN_DIR=${KENTRA_SERVICES_DIR:-$ROOT/var/services}/keycloak
HOME_DIR=$RUN_DIR/keycloak-$KEYCLOAK_VERSION
PID_FILE=$RUN_DIR/keycloak.pid
LOG=$RUN_DIR/keycloak.log
BUILT_STAMP=$HOME_DIR/.kentra-built
IMPORT_FILE=$HOME_DIR/data/import/realm-kentra.json
IMPORTED_STAMP=$HOME_DIR/data/.kentra-imported

say() { printf '%-10s %s\n' keycloak "$1"; }
fail() {
  say "FAILED: $1" >&2
  if [ -s "$LOG" ]; then
    echo "--- last lines of $LOG:" >&2
    tail -n 40 "$LOG" >&2
  fi
  exit 1
}
now() { echo "${EPOCHREALTIME/,/.}"; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f s", b - a }'; }
pid_in() { [ -f "$PID_FILE" ] && head -n 1 "$PID_FILE" | tr -dc 0-9 || true; }
# Our process: alive and still kc.sh of this installation (not a reused pid).
ours() {
  local pid=$1
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null &&
    tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q "$HOME_DIR/bin/kc.sh"
}
port_open() { (exec 3<>"/dev/tcp/$HOST/$1") 2>/dev/null; }
ready() { curl -fsS --max-time 2 "http://$HOST:$MANAGEMENT_PORT/health/ready" 2>/dev/null | grep -q '"UP"'; }

java_home() {
  if [ -n "${KENTRA_KEYCLOAK_JAVA_HOME:-}" ]; then
    echo "$KENTRA_KEYCLOAK_JAVA_HOME"
    return
  fi
  local candidate
  for candidate in "${JAVA_CANDIDATES[@]}"; do
    if [ -x "$candidate/bin/java" ]; then
      echo "$candidate"
      return
    fi
  done
  # None installed: Debian's OpenJDK 17 (supported by Keycloak 26).
  command -v apt-get >/dev/null || fail "no supported JDK (17, 21, 25) and no apt-get to install one"
  say "installing openjdk-17-jre-headless (apt)" >&2
  $SUDO apt-get update -qq >&2 &&
    $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
      openjdk-17-jre-headless >&2 || fail "apt-get install openjdk-17-jre-headless failed"
  echo /usr/lib/jvm/java-17-openjdk-amd64
}
SUDO=$([ "$(id -u)" = 0 ] || echo sudo)

need() {  # need <command> <Debian package>
  command -v "$1" >/dev/null && return
  command -v apt-get >/dev/null || fail "$1 is missing and apt-get is unavailable: install $2"
  say "installing $2 (apt)"
  $SUDO apt-get update -qq && $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
    --no-install-recommends "$2" || fail "apt-get install $2 failed"
}

install() {
  [ -f "$BUILT_STAMP" ] && [ "$(cat "$BUILT_STAMP")" = "${BUILD_OPTIONS[*]}" ] && return
  local started expected download
  started=$(now)
  if [ ! -x "$HOME_DIR/bin/kc.sh" ]; then
    need mvn maven
    need unzip unzip
    expected=$(awk -v f="$ZIP_NAME" '$2 == f { print $1 }' "$CHECKSUMS")
    [ -n "$expected" ] || fail "no SHA-256 for $ZIP_NAME in $CHECKSUMS"
    download=$RUN_DIR/download
    rm -rf "$download"
    mkdir -p "$download"
    # Maven's local repository (~/.m2) is the cache: the copy comes from there when present.
    mvn -q -B dependency:copy -Dartifact="$ARTIFACT" -DoutputDirectory="$download" \
      -Dmdep.overWriteIfNewer=true >"$RUN_DIR/maven.log" 2>&1 ||
      { cat "$RUN_DIR/maven.log" >&2; fail "mvn dependency:copy of $ARTIFACT failed"; }
    echo "$expected  $download/$ZIP_NAME" | sha256sum --check --quiet ||
      fail "$ZIP_NAME does not match its SHA-256 in $CHECKSUMS: not unpacked"
    rm -rf "$HOME_DIR"
    unzip -q "$download/$ZIP_NAME" -d "$RUN_DIR" || fail "unzip of $ZIP_NAME failed"
    rm -rf "$download"
    [ -x "$HOME_DIR/bin/kc.sh" ] || fail "$ZIP_NAME has no keycloak-$KEYCLOAK_VERSION/bin/kc.sh"
    say "unpacked $ZIP_NAME (SHA-256 verified) into ${HOME_DIR#"$ROOT"/} in $(since "$started")"
  fi
  started=$(now)
  JAVA_HOME=$JAVA_HOME "$HOME_DIR/bin/kc.sh" build "${BUILD_OPTIONS[@]}" >"$RUN_DIR/build.log" 2>&1 ||
    { tail -n 40 "$RUN_DIR/build.log" >&2; fail "kc.sh build failed"; }
  echo "${BUILD_OPTIONS[*]}" >"$BUILT_STAMP"
  say "built (${BUILD_OPTIONS[*]}) in $(since "$started")"
}

# The development realm; a changed one means a fresh database, so that it is imported again.
prepare_realm() {
  local wanted
  wanted=$(mktemp)
  python3 "$ROOT/infra/dev/keycloak_dev_realm.py" "$REALM_EXPORT" "$wanted" ||
    fail "cannot write the development realm from $REALM_EXPORT"
  if [ -d "$HOME_DIR/data/h2" ] && ! { [ -f "$IMPORTED_STAMP" ] && cmp -s "$wanted" "$IMPORT_FILE"; }; then
    say "the realm export changed since its import: Keycloak's database starts afresh"
    rm -rf "$HOME_DIR/data/h2" "$IMPORTED_STAMP"
  fi
  mkdir -p "$(dirname "$IMPORT_FILE")"
  mv "$wanted" "$IMPORT_FILE"
}

# "Full importing from file" … "Realm 'kentra' imported": the import's own duration.
import_report() {
  local log=$1
  if grep -q "Realm 'kentra' imported" "$log"; then
    awk '
      function secs(line,  t) { split(line, f, " "); split(f[2], t, /[:,]/);
        return t[1] * 3600 + t[2] * 60 + t[3] + t[4] / 1000 }
      /Full importing from file .*realm-kentra.json/ { a = secs($0) }
      /Realm .kentra. imported/ { b = secs($0) }
      END { if (a && b) printf "realm kentra imported in %.1f s\n", b - a }' "$log"
    touch "$IMPORTED_STAMP"
  elif grep -q "Realm 'kentra' already exists" "$log"; then
    echo "realm kentra exists (import skipped: the export is unchanged)"
  else
    echo "realm import: not reported in the log"
  fi
}

start() {
  mkdir -p "$RUN_DIR"
  local pid
  pid=$(pid_in)
  if ours "$pid"; then
    if ready; then
      say "ready (already running, pid $pid) at $URL"
      return
    fi
    say "running (pid $pid) but not ready yet: waiting"
  else
    rm -f "$PID_FILE"
    if port_open "$HTTP_PORT" || port_open "$MANAGEMENT_PORT"; then
      fail "port $HTTP_PORT or $MANAGEMENT_PORT on $HOST is taken by a process this script did not start"
    fi
    JAVA_HOME=$(java_home)
    "$JAVA_HOME/bin/java" -version >/dev/null 2>&1 || fail "$JAVA_HOME/bin/java does not run"
    install
    prepare_realm
    say "starting Keycloak $KEYCLOAK_VERSION on $("$JAVA_HOME/bin/java" -version 2>&1 | head -n 1)"
    local started
    started=$(now)
    # setsid: kc.sh and its JVM form a process group of their own, which stop signals whole.
    KC_BOOTSTRAP_ADMIN_USERNAME=$ADMIN_USER KC_BOOTSTRAP_ADMIN_PASSWORD=$ADMIN_PASSWORD \
      JAVA_HOME=$JAVA_HOME setsid "$HOME_DIR/bin/kc.sh" start --optimized \
      --http-enabled=true --http-host=$HOST --http-port=$HTTP_PORT \
      --hostname="$URL" --http-management-port=$MANAGEMENT_PORT \
      --cache=local --import-realm \
      --log-level=INFO,io.smallrye.health:WARN >"$LOG" 2>&1 </dev/null &
    pid=$!
    echo "$pid" >"$PID_FILE"
    wait_ready "$pid" "$started"
    say "$(import_report "$LOG")"
    check_realm
    return
  fi
  wait_ready "$pid" "$(now)"
}

wait_ready() {
  local pid=$1 started=$2 deadline
  deadline=$(($(date +%s) + READY_TIMEOUT))
  until ready; do
    ours "$pid" || { rm -f "$PID_FILE"; fail "Keycloak exited before it was ready"; }
    [ "$(date +%s)" -lt "$deadline" ] || fail "not ready after ${READY_TIMEOUT}s (still running: pid $pid; make keycloak-stop)"
    sleep 0.5
  done
  say "ready in $(since "$started") (start to /health/ready; pid $pid) at $URL"
}

# The realm answers and the provisioning client's secret is the one the platform will use.
check_realm() {
  curl -fsS --max-time 5 "$ISSUER/.well-known/openid-configuration" >/dev/null ||
    fail "realm kentra does not answer at $ISSUER"
  local secret=${KENTRA_KEYCLOAK_ADMIN_SECRET:-kentra-provisioning-dev-secret}
  curl -fsS --max-time 5 -d grant_type=client_credentials -d client_id=kentra-provisioning \
    --data-urlencode "client_secret=$secret" "$ISSUER/protocol/openid-connect/token" >/dev/null ||
    fail "kentra-provisioning cannot sign in with KENTRA_KEYCLOAK_ADMIN_SECRET (or the dev default)"
}

stop() {
  local pid
  pid=$(pid_in)
  if ! ours "$pid"; then
    rm -f "$PID_FILE"
    say "not running (nothing started by this script)"
    return
  fi
  local started
  started=$(now)
  kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid"
  for _ in $(seq 1 60); do
    kill -0 -- "-$pid" 2>/dev/null || break
    sleep 0.5
  done
  if kill -0 -- "-$pid" 2>/dev/null; then
    kill -KILL -- "-$pid" 2>/dev/null || true
    say "did not stop within 30 s: killed (pid $pid)"
  fi
  rm -f "$PID_FILE"
  say "stopped (pid $pid) in $(since "$started")"
}

status() {
  local pid
  pid=$(pid_in)
  if ! ours "$pid"; then
    say "not running"
    return 1
  fi
  if ready; then
    say "ready (pid $pid) at $URL, management $HOST:$MANAGEMENT_PORT"
    return 0
  fi
  say "running (pid $pid), not ready"
  return 1
}

env_lines() {
  cat <<EOF
export KENTRA_OIDC_ISSUER=$ISSUER
export KENTRA_KEYCLOAK_ADMIN_SECRET=${KENTRA_KEYCLOAK_ADMIN_SECRET:-kentra-provisioning-dev-secret}
export KENTRA_OIDC_WEB_CLIENT_SECRET=${KENTRA_OIDC_WEB_CLIENT_SECRET:-kentra-web-dev-secret}
EOF
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  status) status ;;
  env) env_lines ;;
  *)
    echo "usage: $0 start|stop|status|env" >&2
    exit 2
    ;;
esac
