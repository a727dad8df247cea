#!/bin/sh
# Extracts Node's test/ tree at one commit from a bare git directory into
# DEST/test, leaving out blobs the git directory lacks (a snapshot made by the
# `fetch` tool omits files of 4 MiB and more, e.g. test/fixtures/snapshot/typescript.js,
# which no net or fs test uses).
#
#   tools/node-compat/get-tests.sh GIT_DIR COMMIT DEST
#
# GIT_DIR: a clone of denoland/node_test (verbatim copies of nodejs/node's test/
# at release tags; its commits are listed in README.md) or of nodejs/node itself
# (then COMMIT is a tag such as v22.12.0). Name DEST for the version
# (/tmp/node-tests/v20.11.1): run.mjs labels results with DEST's name.
set -eu
[ $# -eq 3 ] || { echo "usage: $0 GIT_DIR COMMIT DEST" >&2; exit 2; }
gitdir=$1; commit=$2; dest=$3
mkdir -p "$dest"
list=$(mktemp)
trap 'rm -f "$list"' EXIT
git --git-dir="$gitdir" ls-tree -r "$commit" test | awk '$2 == "blob" { print $3, $4 }' > "$list"
# cat-file --batch-check answers "<hash> missing" for an object the snapshot lacks.
excludes=$(cut -d' ' -f1 "$list" | git --git-dir="$gitdir" cat-file --batch-check |
  awk '$2 == "missing" { print $1 }' | sort -u |
  while read -r hash; do awk -v h="$hash" '$1 == h { print ":(exclude)" $2 }' "$list"; done)
# git archive may still print "invalid object" for an excluded missing blob;
# the archive is whole without it (the file count below says so).
# shellcheck disable=SC2086 # one pathspec per word; test paths have no spaces
git --git-dir="$gitdir" archive "$commit" test $excludes | tar -x -C "$dest"
echo "extracted $(find "$dest/test" -type f | wc -l) files into $dest/test"
