#!/bin/sh
# Runs Express's, Koa's and Fastify's own test suites with and without uring/register
# (NODE_OPTIONS=--import=<dist/src/register.js>) and prints the counts. Not
# part of npm test: it installs the suites' dependencies from the registry.
#
#   tools/app-suites/run.sh [WORKDIR [SUITE...]]   (run `npx tsc -p .` first)
#
# WORKDIR defaults to /tmp/app-suites; SUITE is express, koa or fastify (default all).
#
# The sources: the `fetch` tool's bare mirrors (EXPRESS_GIT, KOA_GIT,
# FASTIFY_GIT; default /work/.mirror/<owner>+<name>/repo), or any clone of
# github.com/expressjs/express, github.com/koajs/koa and github.com/fastify/fastify.
# Fastify's main branch (6.x) is tested on Node 24 and 26 and needs 22 at
# least: FASTIFY_NODE names the node binary that runs its suite (default:
# node), FASTIFY_REF the commit or tag to test (default HEAD; v5.x runs on 20).
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
for s in $suites; do
  $s plain
  $s uring "--import=$register"
done
