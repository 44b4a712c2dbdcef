#!/usr/bin/env bash
# Idle footprint of the NativeAOT guest agent (issue: RSS ≤ 30 MB, no .NET runtime on the guest).
#
# Starts the published agent against the local RabbitMQ, connected and watching (production timing: fault watch every
# 250 ms, heartbeat every 30 s), waits, then prints its resident memory (VmRSS, and the peak VmHWM) from
# /proc/<pid>/status, the CPU time it used (utime + stime from /proc/<pid>/stat) and the binary's size. Exits 1 when
# the RSS is over the target.
#
#   bench/guest-agent-footprint.sh                 # 60 s, probing this machine's own /sys
#   BENCH_SECONDS=300 bench/guest-agent-footprint.sh
#
# Environment: PASSTHROUGH_GUEST_AGENT_BINARY (default artifacts/guest-agent/passthrough-guest-agent, published when
# missing), PASSTHROUGH_BENCH_RABBITMQ (default amqp://guest:guest@127.0.0.1:5672/; RabbitMQ must be running, e.g. via
# `RABBITMQ_NODE_IP_ADDRESS=127.0.0.1 rabbitmq-server -detached`), BENCH_SECONDS (60), BENCH_PROBE_ROOT (/),
# BENCH_RSS_TARGET_KB (30720), BENCH_VM_UUID (a fixed uuid).
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
binary=${PASSTHROUGH_GUEST_AGENT_BINARY:-$root/artifacts/guest-agent/passthrough-guest-agent}
broker=${PASSTHROUGH_BENCH_RABBITMQ:-amqp://guest:guest@127.0.0.1:5672/}
seconds=${BENCH_SECONDS:-60}
probe_root=${BENCH_PROBE_ROOT:-/}
target_kb=${BENCH_RSS_TARGET_KB:-30720}
log() { printf '[bench] %s\n' "$*" >&2; }

if [ ! -x "$binary" ]; then
  log "publishing the NativeAOT guest agent to $(dirname "$binary")"
  dotnet publish "$root/src/Passthrough.GuestAgent" -c Release -r linux-x64 --nologo -o "$(dirname "$binary")" >&2
fi

host_port=${broker#*@}; host_port=${host_port%%/*}
host=${host_port%%:*}; port=${host_port##*:}; [ "$port" = "$host_port" ] && port=5672
(exec 3<>"/dev/tcp/$host/$port") 2>/dev/null || { log "RabbitMQ does not answer at $host:$port; start it first"; exit 2; }

# A fixed VM uuid: repeated runs reuse one command queue and exchange on the broker instead of leaving one per run.
vm=${BENCH_VM_UUID:-00000000-0000-4000-8000-0000000000be}
work=$(mktemp -d)
agent_log="$work/agent.log"
cleanup() {
  [ -n "${pid:-}" ] && kill -TERM "$pid" 2>/dev/null && wait "$pid" 2>/dev/null || true
  PATH="$PATH:/usr/sbin" rabbitmqctl -q delete_queue "guest-$vm" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

DOTNET_ENVIRONMENT=Development \
GuestAgent__Broker="$broker" \
GuestAgent__VmUuid="$vm" \
GuestAgent__ProbeRoot="$probe_root" \
GuestAgent__SpoolDirectory="$work/spool" \
  "$binary" >"$agent_log" 2>&1 &
pid=$!

for _ in $(seq 1 100); do
  grep -q "Receiving commands on queue" "$agent_log" 2>/dev/null && break
  kill -0 "$pid" 2>/dev/null || { log "the agent exited:"; cat "$agent_log" >&2; exit 1; }
  sleep 0.1
done
grep -q "Receiving commands on queue" "$agent_log" || { log "the agent did not connect:"; cat "$agent_log" >&2; exit 1; }
log "agent $pid connected to $host:$port as VM $vm, probing $probe_root; idling ${seconds} s"
sleep "$seconds"

kill -0 "$pid" 2>/dev/null || { log "the agent died:"; cat "$agent_log" >&2; exit 1; }
rss_kb=$(awk '/^VmRSS:/ {print $2}' "/proc/$pid/status")
hwm_kb=$(awk '/^VmHWM:/ {print $2}' "/proc/$pid/status")
threads=$(awk '/^Threads:/ {print $2}' "/proc/$pid/status")
# /proc/<pid>/stat: the command field may hold spaces, so count fields after its closing parenthesis (utime is 14, stime 15).
read -r utime stime < <(sed 's/^.*) //' "/proc/$pid/stat" | awk '{print $12, $13}')
ticks=$(getconf CLK_TCK)
cpu_ms=$(( (utime + stime) * 1000 / ticks ))
size=$(stat -c %s "$binary")

awk -v s="$seconds" -v b="$(basename "$binary")" -v rss="$rss_kb" -v hwm="$hwm_kb" -v target="$target_kb" \
    -v cpu="$cpu_ms" -v ut="$utime" -v st="$stime" -v hz="$ticks" -v th="$threads" -v size="$size" 'BEGIN {
  printf "guest agent footprint after %s s connected to RabbitMQ (%s)\n", s, b
  printf "  idle RSS (VmRSS)   %6.1f MB   (peak VmHWM %.1f MB, target <= %.1f MB)\n", rss/1024, hwm/1024, target/1024
  printf "  CPU time used      %6d ms    (user %d + system %d ticks of 1/%d s: %.2f %% of one core)\n", cpu, ut, st, hz, cpu/(s*10)
  printf "  threads            %6d\n", th
  printf "  binary size        %6.1f MB   (%d bytes)\n", size/1048576, size
}'
if [ "$rss_kb" -gt "$target_kb" ]; then
  printf 'RSS target missed: %s kB > %s kB\n' "$rss_kb" "$target_kb"
  exit 1
fi
printf 'RSS target met\n'
