#!/bin/sh
# Runs Express's and Koa's own test suites with and without uring/register
# (NODE_OPTIONS=--import=<dist/src/register.js>) and prints the counts. Not
# part of npm test: it installs the suites' dependencies from the registry.
#
#   tools/app-suites/run.sh [WORKDIR]      (default /tmp/app-suites; run `npx tsc -p .` first)
#
# The sources: the `fetch` tool's bare mirrors (EXPRESS_GIT, KOA_GIT; default
# /work/.mirror/expressjs+express/repo and /work/.mirror/koajs+koa/repo), or
# any clone of github.com/expressjs/express and github.com/koajs/koa.
set -eu
here=$(cd "$(dirname "$0")/../.." && pwd)
register=$here/dist/src/register.js
work=${1:-/tmp/app-suites}
express_git=${EXPRESS_GIT:-/work/.mirror/expressjs+express/repo}
koa_git=${KOA_GIT:-/work/.mirror/koajs+koa/repo}
[ -f "$register" ] || { echo "no $register: run npx tsc -p . first" >&2; exit 2; }

get() { # GIT_DIR DEST
  if [ ! -f "$2/package.json" ]; then
    mkdir -p "$2"
    git --git-dir="$1" archive HEAD | tar -x -C "$2"
  fi
  echo "$(basename "$2"): $(git --git-dir="$1" rev-parse HEAD)"
  (cd "$2" && npm install --no-audit --no-fund --ignore-scripts >/dev/null)
}
get "$express_git" "$work/express"
get "$koa_git" "$work/koa"
(cd "$work/koa" && npm run build >/dev/null) # dist/koa.mjs, which its ESM test loads

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
express plain
express uring "--import=$register"
koa plain
koa uring "--import=$register"
