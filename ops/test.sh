#!/usr/bin/env bash
# The one test command (README "Set-up"). On a fresh Debian machine with the .NET SDK it:
#   1. installs what the tests need and is missing (rabbitmq-server, openssh-server, pciutils; apt-get update once),
#   2. starts RabbitMQ and a throwaway PostgreSQL 15 cluster, both bound to 127.0.0.1, and waits until they answer,
#   3. runs the whole test suite (Release) with TRX results,
#   4. prints the closing line "N passed, N failed" computed from the TRX files,
#   5. stops the services it started, and exits non-zero on any failure.
# Tests start their own sshd on 127.0.0.1; nothing listens beyond loopback.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
results="$root/TestResults"
log() { printf '[test] %s\n' "$*" >&2; }

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else
    log "need root (or sudo) to run: $*"; return 1; fi
}

# --- 1. packages -----------------------------------------------------------------------------------------------
missing=()
command -v rabbitmq-server >/dev/null || [ -x /usr/sbin/rabbitmq-server ] || missing+=(rabbitmq-server)
[ -x /usr/sbin/sshd ] || missing+=(openssh-server)
command -v lspci >/dev/null || [ -x /usr/bin/lspci ] || missing+=(pciutils)
# The NativeAOT guest agent links with clang (clang-14 is enough: the project picks it when `clang` is absent) and zlib.
[ -x /usr/bin/clang ] || [ -x /usr/bin/clang-14 ] || missing+=(clang)
[ -e /usr/include/zlib.h ] || missing+=(zlib1g-dev)
[ -x /usr/lib/postgresql/15/bin/initdb ] || missing+=(postgresql-15)
if [ ${#missing[@]} -gt 0 ]; then
  log "installing: ${missing[*]}"
  as_root apt-get update -qq
  # policy-rc.d keeps the packages' own init scripts from starting services bound to every interface.
  as_root sh -c 'printf "#!/bin/sh\nexit 101\n" > /usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d'
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  as_root rm -f /usr/sbin/policy-rc.d
fi
export PATH="$PATH:/usr/sbin:/sbin:/usr/lib/postgresql/15/bin"

# --- 2. RabbitMQ on 127.0.0.1 ------------------------------------------------------------------------------------
started_rabbit=0
pg_dir=""
pg_bin=/usr/lib/postgresql/15/bin
rabbit_up() { (exec 3<>/dev/tcp/127.0.0.1/5672) 2>/dev/null; }
stop_services() {
  if [ "$started_rabbit" -eq 1 ]; then
    log "stopping RabbitMQ"
    as_root rabbitmqctl -q shutdown >/dev/null 2>&1 || true
  fi
  if [ -n "$pg_dir" ]; then
    log "stopping PostgreSQL and removing its cluster"
    as_root runuser -u postgres -- "$pg_bin/pg_ctl" -D "$pg_dir/data" -m fast -w stop >/dev/null 2>&1 || true
    as_root rm -rf "$pg_dir"
  fi
}
trap stop_services EXIT

if rabbit_up; then
  log "RabbitMQ already answers on 127.0.0.1:5672; using it"
else
  log "starting RabbitMQ on 127.0.0.1:5672"
  as_root env RABBITMQ_NODE_IP_ADDRESS=127.0.0.1 RABBITMQ_NODE_PORT=5672 \
    RABBITMQ_DIST_PORT=25672 ERL_EPMD_ADDRESS=127.0.0.1 rabbitmq-server -detached >/dev/null 2>&1
  started_rabbit=1
  # rabbitmqctl fails at once until the node has registered with epmd, so ask again until it answers.
  deadline=$((SECONDS + 120))
  until as_root rabbitmqctl -q await_startup --timeout 10 >/dev/null 2>&1; do
    if [ $SECONDS -ge $deadline ]; then log "RabbitMQ did not start within 120 s (see /var/log/rabbitmq)"; exit 1; fi
    sleep 1
  done
  for _ in $(seq 1 60); do rabbit_up && break; sleep 1; done
  rabbit_up || { log "RabbitMQ does not answer on 127.0.0.1:5672"; exit 1; }
fi
export PASSTHROUGH_TEST_RABBITMQ="amqp://guest:guest@127.0.0.1:5672/"

# --- 2b. a throwaway PostgreSQL 15 cluster on 127.0.0.1 (the saga store tests) -----------------------------------
# PostgreSQL refuses to run as root, so the cluster belongs to the postgres system user; it lives in a temporary
# directory, listens on a free port and its own socket directory, and is removed on exit.
free_port() {
  local port
  for port in $(seq 55432 55632); do
    (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null || { echo "$port"; return 0; }
  done
  return 1
}
pg_port=$(free_port) || { log "no free port for PostgreSQL in 55432-55632"; exit 1; }
pg_dir=$(mktemp -d /tmp/passthrough-pg.XXXXXX)
as_root chown postgres: "$pg_dir"
log "starting PostgreSQL 15 on 127.0.0.1:$pg_port"
as_root runuser -u postgres -- "$pg_bin/initdb" -D "$pg_dir/data" -A trust >/dev/null
as_root runuser -u postgres -- "$pg_bin/pg_ctl" -D "$pg_dir/data" -l "$pg_dir/server.log" \
  -o "-k $pg_dir -h 127.0.0.1 -p $pg_port" -w start >/dev/null
export PASSTHROUGH_TEST_POSTGRES="Host=127.0.0.1;Port=$pg_port;Username=postgres;Database=postgres"
export PASSTHROUGH_TEST_REQUIRE_SERVICES=1

# --- 3. the suite ----------------------------------------------------------------------------------------------
rm -rf "$results"
# The guest agent's integration tests run the NativeAOT binary that ships, published here (PASSTHROUGH_GUEST_AGENT_BINARY).
log "publishing the NativeAOT guest agent"
agent_dir="$root/artifacts/guest-agent"
if ! dotnet publish "$root/src/Passthrough.GuestAgent" -c Release -r linux-x64 --nologo -o "$agent_dir" >&2; then
  log "the NativeAOT publish of the guest agent failed"
  echo "0 passed, 1 failed"
  exit 1
fi
export PASSTHROUGH_GUEST_AGENT_BINARY="$agent_dir/passthrough-guest-agent"
log "building and running the test suite"
set +e
dotnet test "$root/Passthrough.Agents.sln" -c Release --nologo \
  --logger "trx" --results-directory "$results" -- RunConfiguration.TreatNoTestsAsError=true
status=$?
set -e

# --- 4. the closing line ---------------------------------------------------------------------------------------
shopt -s nullglob
trx=("$results"/*.trx)
if [ ${#trx[@]} -eq 0 ]; then
  log "no test results were written (build failure?)"
  echo "0 passed, 1 failed"
  exit 1
fi
passed=0; failed=0
for f in "${trx[@]}"; do
  counters=$(grep -o '<Counters [^>]*>' "$f" | head -n1)
  p=$(sed -n 's/.* passed="\([0-9]*\)".*/\1/p' <<<"$counters"); p=${p:-0}
  fl=$(sed -n 's/.* failed="\([0-9]*\)".*/\1/p' <<<"$counters"); fl=${fl:-0}
  e=$(sed -n 's/.* error="\([0-9]*\)".*/\1/p' <<<"$counters"); e=${e:-0}
  t=$(sed -n 's/.* timeout="\([0-9]*\)".*/\1/p' <<<"$counters"); t=${t:-0}
  a=$(sed -n 's/.* aborted="\([0-9]*\)".*/\1/p' <<<"$counters"); a=${a:-0}
  passed=$((passed + p)); failed=$((failed + fl + e + t + a))
done
if [ "$status" -ne 0 ] && [ "$failed" -eq 0 ]; then failed=1; fi
echo "$passed passed, $failed failed"
[ "$status" -eq 0 ] && [ "$failed" -eq 0 ]
