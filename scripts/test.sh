#!/usr/bin/env bash
# Runs the whole test suite: once in a debug build, then again under
# ThreadSanitizer and AddressSanitizer (the reactor is a multi-threaded runtime
# that lends memory to the kernel: the sanitizers are part of the test).
# Installs liburing-dev first if it is missing.
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

# --no-parallel: several tests count the process's open file descriptors
# before and after, which only means something with one test running at a time.
step "swift test --no-parallel $*"
swift test --no-parallel "$@"

# halt_on_error: a data race fails the run instead of scrolling by.
step "swift test --sanitize=thread --no-parallel $*"
TSAN_OPTIONS="halt_on_error=1 ${TSAN_OPTIONS:-}" \
  swift test --sanitize=thread --scratch-path .build-tsan --no-parallel "$@"

# AddressSanitizer catches a use-after-free or overflow of memory the kernel
# was lent; LeakSanitizer, memory a cancelled or abandoned operation never gave
# back (in the test process and in the example servers the tests spawn, which
# inherit these options). --disable-xctest: only Swift Testing runs, without
# the XCTest runner.
step "swift test --sanitize=address --no-parallel --disable-xctest $*"
ASAN_OPTIONS="detect_leaks=1 ${ASAN_OPTIONS:-}" \
  swift test --sanitize=address --scratch-path .build-asan --no-parallel --disable-xctest "$@"

step "all tests passed (debug, ThreadSanitizer, AddressSanitizer)"
