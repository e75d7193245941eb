#!/usr/bin/env bash
# The seed's failover demo: three registry nodes, the calculator tool, a client calling it; the
# node the client is connected to is killed (SIGKILL) while it keeps calling, and the results keep
# coming.
# usage: examples/clustering/run-demo.sh [BIN_DIR]   (default: build/bin)
set -euo pipefail
bin=$(cd "${1:-build/bin}" && pwd)
logs=$(mktemp -d /tmp/polaris-demo-XXXXXX)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap cleanup EXIT

for port in 4222 4223 4224 5222 5223 5224; do
  if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
    echo "error: port $port is in use; stop whatever listens there and retry" >&2
    exit 1
  fi
done

wait_for() {  # wait_for DESCRIPTION COMMAND...: retry COMMAND for up to 10 s
  local what=$1; shift
  for _ in $(seq 100); do
    if "$@" >/dev/null 2>&1; then return 0; fi
    sleep 0.1
  done
  echo "error: timed out waiting for $what (logs in $logs)" >&2
  exit 1
}

echo "== starting registry nodes 1, 2, 3 (logs in $logs)"
for node in 1 2 3; do
  "$bin/clustering-registry" "$node" >"$logs/registry-$node.log" 2>&1 &
  pids+=($!)
  wait_for "registry $node" "$bin/polaris" tools --server "nats://127.0.0.1:$((4221 + node))"
done

echo "== starting the calculator tool"
"$bin/clustering-tool" >"$logs/tool.log" 2>&1 &
pids+=($!)
wait_for "the calculator to register" \
  sh -c "'$bin/polaris' tools --server nats://127.0.0.1:4224 | grep -q calculator"

echo "== the catalogue, as seen from node 3"
"$bin/polaris" tools --server nats://127.0.0.1:4224

echo "== one call"
"$bin/clustering-client"

echo "== calling every 300 ms; after the third result, the node the client uses is killed"
: >"$logs/client.log"
"$bin/clustering-client" 10 300 >>"$logs/client.log" 2>&1 &
client_pid=$!
tail -n +1 -f --pid="$client_pid" "$logs/client.log" &
wait_for "the client's third result" sh -c "[ \$(grep -c 'result = ' '$logs/client.log') -ge 3 ]"
port=$(grep -o 'via nats://127.0.0.1:[0-9]*' "$logs/client.log" | head -1 | grep -o '[0-9]*$')
node=$((port - 4221))
echo "== kill -9 registry node $node (port $port), the one the client is connected to"
kill -9 "${pids[$((node - 1))]}"
wait "$client_pid"
survivor=$((node == 1 ? 4223 : 4222))

echo "== node $node is gone; the catalogue from the node on port $survivor:"
"$bin/polaris" tools --server "nats://127.0.0.1:$survivor"
echo "== demo finished: the client kept getting results while its node died"
