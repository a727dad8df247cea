#!/bin/sh
# Runs Express's, Koa's, Fastify's, ws's and undici's own test suites with and without uring/register
# (NODE_OPTIONS=--import=<dist/src/register.js>) and prints the counts. Not
# part of npm test: it installs the suites' dependencies from the registry.
#
#   tools/app-suites/run.sh [WORKDIR [SUITE...]]   (run `npx tsc -p .` first)
#
# WORKDIR defaults to /tmp/app-suites; SUITE is express, koa, fastify, ws or
# undici (default all).
#
# The sources: the `fetch` tool's bare mirrors (EXPRESS_GIT, KOA_GIT,
# FASTIFY_GIT, WS_GIT, UNDICI_GIT; default /work/.mirror/<owner>+<name>/repo),
# or any clone of github.com/expressjs/express, github.com/koajs/koa,
# github.com/fastify/fastify, github.com/websockets/ws and github.com/nodejs/undici.
# <SUITE>_REF is the commit or tag to test (default HEAD) and <SUITE>_NODE the
# node binary that runs it (default: node). Fastify's main branch (6.x) needs
# Node 22 at least (v5.x runs on 20); undici's main (8.x) needs 22.19 (v7.x
# runs on 20).
#
# ws: its whole mocha suite (test/*.test.js), whose servers and clients are
# node:http's and node:net's. undici: the files that use real sockets, its
# test/*.js and test/fetch/*.js but HTTP/2 (http2*, h2*: node's own TLS and
# nghttp2, not routed), through its own runner (borp, one file at a time);
# its Client connects with node:net's connect, so under the flag both ends
# are uring sockets.
set -eu
here=$(cd "$(dirname "$0")/../.." && pwd)
register=$here/dist/src/register.js
work=${1:-/tmp/app-suites}
[ $# -gt 0 ] && shift
suites=${*:-express koa fastify}
express_git=${EXPRESS_GIT:-/work/.mirror/expressjs+express/repo}
koa_git=${KOA_GIT:-/work/.mirror/koajs+koa/repo}
fastify_git=${FASTIFY_GIT:-/work/.mirror/fastify+fastify/repo}
fastify_node=${FASTIFY_NODE:-node}
fastify_ref=${FASTIFY_REF:-HEAD}
ws_git=${WS_GIT:-/work/.mirror/websockets+ws/repo}
ws_node=${WS_NODE:-node}
ws_ref=${WS_REF:-HEAD}
undici_git=${UNDICI_GIT:-/work/.mirror/nodejs+undici/repo}
undici_node=${UNDICI_NODE:-node}
undici_ref=${UNDICI_REF:-HEAD}
[ -f "$register" ] || { echo "no $register: run npx tsc -p . first" >&2; exit 2; }

get() { # GIT_DIR DEST [REF]
  if [ ! -f "$2/package.json" ]; then
    mkdir -p "$2"
    git --git-dir="$1" archive "${3:-HEAD}" | tar -x -C "$2"
  fi
  echo "$(basename "$2"): $(git --git-dir="$1" rev-parse "${3:-HEAD}^{commit}")"
  (cd "$2" && npm install --no-audit --no-fund --ignore-scripts --loglevel=error >/dev/null)
}
want() { case " $suites " in *" $1 "*) return 0 ;; *) return 1 ;; esac; }
want express && get "$express_git" "$work/express"
if want koa; then
  get "$koa_git" "$work/koa"
  (cd "$work/koa" && npm run build >/dev/null) # dist/koa.mjs, which its ESM test loads
fi
want fastify && get "$fastify_git" "$work/fastify" "$fastify_ref"
want ws && get "$ws_git" "$work/ws" "$ws_ref"
if want undici; then
  get "$undici_git" "$work/undici" "$undici_ref"
  (cd "$work/undici" && npm run build:node >/dev/null) # undici-fetch.js, which test/fetch/bundle.js loads
fi

# Each run: its own output file; counts from the reporters' summaries.
express() { # LABEL [NODE_OPTIONS]
  out=$work/express-$1.txt
  (cd "$work/express" && NODE_OPTIONS=${2:-} timeout 600 node node_modules/.bin/mocha --require test/support/env \
    --reporter dot --check-leaks test/ test/acceptance/ >"$out" 2>&1) && rc=0 || rc=$?
  echo "express $1: $(grep -E '^ +[0-9]+ (passing|failing|pending)' "$out" | tr -s ' \n' ' ')(exit $rc)"
}
koa() { # LABEL [NODE_OPTIONS]
  out=$work/koa-$1.txt
  (cd "$work/koa" && NODE_OPTIONS=${2:-} timeout 900 node --test --test-reporter=tap >"$out" 2>&1) && rc=0 || rc=$?
  echo "koa $1: $(grep -E '^# (tests|pass|fail|skipped) ' "$out" | tr -s '\n' ' ')(exit $rc)"
}
fastify() { # LABEL [NODE_OPTIONS]
  # borp (its `npm run unit`) runs each test file in a child node:test process,
  # which inherits NODE_OPTIONS; one file at a time, 60 s per test.
  out=$work/fastify-$1.txt
  (cd "$work/fastify" && NODE_OPTIONS=${2:-} timeout 1800 "$fastify_node" node_modules/.bin/borp \
    --reporter=tap --concurrency=1 --timeout=60000 >"$out" 2>&1) && rc=0 || rc=$?
  echo "fastify $1: $(grep -E '^# (tests|pass|fail|skipped|todo|cancelled) ' "$out" | tr -s '\n' ' ')(exit $rc)"
  grep -E '^ *not ok ' "$out" | sed 's/^ */  /' || true # which ones, to compare the two runs
}
ws() { # LABEL [NODE_OPTIONS]
  out=$work/ws-$1.txt
  # Its runs take seconds; mocha waits for the process to drain (no --exit),
  # so exit 124 after the summary means something was left open (on Node 22
  # a test failing both ways, over a 431 where it wants 400, leaves its server).
  (cd "$work/ws" && NODE_OPTIONS=${2:-} timeout 120 "$ws_node" node_modules/.bin/mocha --throw-deprecation \
    --reporter dot test/*.test.js >"$out" 2>&1) && rc=0 || rc=$?
  echo "ws $1: $(grep -E '^ +[0-9]+ (passing|failing|pending)' "$out" | tr -s ' \n' ' ')(exit $rc)"
  # mocha's numbered failures: the titles' first lines
  grep -E '^  [0-9]+\) ' "$out" -A3 | grep -vE '^--$' | sed 's/^ */  /' || true
}
undici() { # LABEL [NODE_OPTIONS]
  out=$work/undici-$1.txt
  files=$(cd "$work/undici" && ls test/*.js test/fetch/*.js | grep -vE '/(http2|h2)[^/]*\.js$')
  # shellcheck disable=SC2086 # the file list, one word each
  (cd "$work/undici" && NODE_OPTIONS=${2:-} timeout 2400 "$undici_node" node_modules/.bin/borp \
    --reporter=tap --concurrency=1 --timeout=180000 --expose-gc $files >"$out" 2>&1) && rc=0 || rc=$?
  echo "undici $1: $(echo "$files" | wc -l) files, $(grep -E '^# (tests|pass|fail|skipped|todo|cancelled) ' "$out" | tr -s '\n' ' ')(exit $rc)"
  grep -E '^ *not ok ' "$out" | sed 's/^ */  /' || true
}
for s in $suites; do
  $s plain
  $s uring "--import=$register"
done
