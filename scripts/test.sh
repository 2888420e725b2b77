#!/usr/bin/env bash
# Runs the whole test suite: once in a debug build, then again under
# ThreadSanitizer (the reactor is a multi-threaded runtime: TSan is part of the
# test, not an extra). Installs liburing-dev first if it is missing.
#
# Usage: ./scripts/test.sh [extra swift test arguments, e.g. --filter RingTests]
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n==> %s\n' "$*" >&2; }

install_liburing() {
  if dpkg -s liburing-dev 2>/dev/null | grep -q '^Status: install ok installed'; then
    step "liburing-dev is installed ($(dpkg-query -W -f='${Version}' liburing-dev))"
    return
  fi
  local sudo=()
  if [ "$(id -u)" -ne 0 ]; then sudo=(sudo); fi
  step "installing liburing-dev"
  "${sudo[@]}" apt-get update
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y liburing-dev
}

install_liburing

step "swift test $*"
swift test "$@"

step "swift test --sanitize=thread --scratch-path .build-tsan $*"
swift test --sanitize=thread --scratch-path .build-tsan "$@"

step "all tests passed (debug and ThreadSanitizer)"
