#!/usr/bin/env bash
# Measures a cold `npm ci && npm start` as a new user gets it: a fresh clone (of this repository's main,
# or LLMUX_COMMIT) in a temporary folder, no node_modules, no dist, no turbo cache (npm's own download
# cache is kept). Prints the time of npm ci, of the build, of the app's start until /health/liveliness
# answers, and the total. Take the shared machine's heavy lock around it:
#   flock /tmp/llmux-heavy.lock scripts/measure-cold-start.sh
set -u
source_repo=$(git -C "$(dirname "$0")/.." rev-parse --show-toplevel)
dir=$(mktemp -d "${TMPDIR:-/tmp}/llmux-cold-XXXXXX")
port=${PORT:-4190}
trap 'rm -rf "$dir"' EXIT
git clone -q "$source_repo" "$dir" && cd "$dir" && git checkout -q "${LLMUX_COMMIT:-HEAD}" || exit 1
echo "commit $(git rev-parse --short HEAD), node $(node --version), $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"
rm -rf node_modules packages/*/dist apps/*/dist .turbo
now() { date +%s.%N; }
t0=$(now)
npm ci --no-audit --no-fund > ci.log 2>&1 || { echo "npm ci failed"; tail ci.log; exit 1; }
t1=$(now)
PORT=$port HOST=127.0.0.1 setsid npm start > start.log 2>&1 &
pid=$!
built=""
while true; do
  if [ -z "$built" ] && grep -qE "llmux: built in|Tasks:" start.log 2>/dev/null; then built=$(now); fi
  if curl -sf "http://127.0.0.1:$port/health/liveliness" > /dev/null 2>&1; then break; fi
  if ! kill -0 "$pid" 2> /dev/null; then echo "npm start exited"; tail -30 start.log; exit 1; fi
  sleep 0.5
done
t2=$(now)
kill -TERM -- "-$pid" 2> /dev/null; sleep 2; kill -KILL -- "-$pid" 2> /dev/null
node -e '
const [t0, t1, tb, t2] = process.argv.slice(1).map(Number);
const s = (x) => `${Math.round(x)} s`;
console.log(`npm ci ${s(t1 - t0)}, build ${s(tb - t1)}, app start ${s(t2 - tb)}: npm start ${s(t2 - t1)}, npm ci && npm start ${s(t2 - t0)}`);
' "$t0" "$t1" "${built:-$t2}" "$t2"
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
