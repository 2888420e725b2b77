#!/usr/bin/env bash
# Builds the DocC documentation of UringReactor (Sources/UringReactor/UringReactor.docc)
# and fails on any DocC warning. The swift-docc-plugin dependency exists only
# when URING_REACTOR_DOCS is set (see Package.swift), so the library's users
# never build it; its own scratch path keeps the regular build's resolution as
# it is. Output: .build-docs/plugins/Swift-DocC/outputs/UringReactor.doccarchive
# (or the directory given with --output-path, passed on with the other
# arguments).
#
#   scripts/docs.sh                                  # build, 0 warnings or fail
#   scripts/docs.sh --transform-for-static-hosting   # extra arguments go to the plugin
set -euo pipefail
cd "$(dirname "$0")/.."

log=$(mktemp)
trap 'rm -f "$log"' EXIT
URING_REACTOR_DOCS=1 swift package --scratch-path .build-docs \
  generate-documentation --target UringReactor --warnings-as-errors "$@" 2>&1 | tee "$log"
if grep -q "warning:" "$log"; then
  echo "docs.sh: DocC reported warnings" >&2
  exit 1
fi
