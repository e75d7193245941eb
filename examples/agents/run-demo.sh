#!/usr/bin/env bash
# LLM agents calling LLM agents: a planner agent hands two parts of a task to two worker agents
# (accountant, navigator) at once; each worker uses plain tools (add, multiply, divide). Every
# agent and the tools run in their own process, on one registry.
#
# Without a model key the agents talk to agents-fake-model, which answers with the scripted
# exchanges of scripted.json. With ANTHROPIC_API_KEY, OPENAI_API_KEY, GOOGLE_API_KEY or
# GEMINI_API_KEY set, a real model does the work (provider chosen from the environment as
# `polaris chat` does; POLARIS_DEMO_MODEL picks the model).
#
# usage: examples/agents/run-demo.sh [BIN_DIR]   (default: build/bin)
set -euo pipefail
bin=$(cd "${1:-build/bin}" && pwd)
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d /tmp/polaris-agents-demo-XXXXXX)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
fail() {
  echo "error: $*" >&2
  for log in "$work"/*.log; do
    echo "--- $(basename "$log")" >&2
    tail -n 20 "$log" >&2
  done
  exit 1
}

wait_for() {  # wait_for DESCRIPTION COMMAND...: retry COMMAND for up to 20 s
  local what=$1
  shift
  for _ in $(seq 200); do
    if "$@" >/dev/null 2>&1; then return 0; fi
    sleep 0.1
  done
  fail "timed out waiting for $what"
}

echo "== a registry on a free port"
"$bin/polaris" registry --port 0 --ready-file "$work/ready.json" >"$work/registry.log" 2>&1 &
pids+=($!)
wait_for "the registry" test -s "$work/ready.json"
POLARIS_SERVERS=$(sed -n 's/.*"client_url":"\([^"]*\)".*/\1/p' "$work/ready.json")
export POLARIS_SERVERS
echo "   $POLARIS_SERVERS"

echo "== the plain tools: add, multiply, divide"
"$bin/agents-tools" >"$work/tools.log" 2>&1 &
pids+=($!)

model=()
if [ -n "${ANTHROPIC_API_KEY:-}${OPENAI_API_KEY:-}${GOOGLE_API_KEY:-}${GEMINI_API_KEY:-}" ]; then
  echo "== a model key is set: the agents use the real provider"
  [ -n "${POLARIS_DEMO_MODEL:-}" ] && model=(--model "$POLARIS_DEMO_MODEL")
else
  echo "== no model key: the agents use agents-fake-model (scripted.json)"
  "$bin/agents-fake-model" "$here/scripted.json" >"$work/model.log" 2>&1 &
  pids+=($!)
  wait_for "the scripted model" grep -q "^listening on " "$work/model.log"
  export ANTHROPIC_BASE_URL
  ANTHROPIC_BASE_URL=$(sed -n 's/^listening on //p' "$work/model.log")
  export ANTHROPIC_API_KEY=scripted
  model=(--provider anthropic --model scripted --no-stream)
fi

serve() {  # serve NAME DESCRIPTION TOOL...: an LLM agent in its own process
  local name=$1 description=$2
  shift 2
  local tools=()
  for tool in "$@"; do tools+=(--tool "$tool"); done
  "$bin/polaris" agent serve --name "$name" --description "$description" \
    --system "@$here/prompts/$name.txt" "${tools[@]}" "${model[@]}" >"$work/$name.log" 2>&1 &
  pids+=($!)
}
echo "== three LLM agents, one process each"
serve accountant "Works out costs and sums with the add and multiply tools" add multiply
serve navigator "Works out travel times with the divide tool" divide
serve planner "Splits a task between the accountant and the navigator and sums up" \
  accountant navigator
for tool in add multiply divide accountant navigator planner; do
  wait_for "$tool in the catalogue" sh -c "'$bin/polaris' tools -o name | grep -qx '$tool'"
done
"$bin/polaris" tools

task="Team offsite: 4 people, 3 nights at 120 EUR per person and night, and a 450 km drive at \
90 km/h. Total hotel cost and driving time?"
echo
echo "== polaris call planner: the agents' work live on stderr, the reply on stdout"
"$bin/polaris" call planner "$(printf '{"task": "%s"}' "$task")" >"$work/reply.json" ||
  fail "the planner failed"
# The planner's own answer is the reply's first member.
sed -n 's/^{"answer":"\([^"]*\)".*/answer: \1/p' "$work/reply.json"

echo
echo "== polaris chat: nested agents indented under the call that started them"
"$bin/polaris" chat --tool planner "${model[@]}" \
  --system "You are the front desk. Hand every question to the planner tool and relay its answer." \
  "$task" || fail "polaris chat failed"
echo "== demo finished"
