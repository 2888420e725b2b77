#!/usr/bin/env bash
# Runs the whole test suite: once in a debug build, then again under
# ThreadSanitizer and AddressSanitizer (the reactor is a multi-threaded runtime
# that lends memory to the kernel: the sanitizers are part of the test).
# Installs what it needs first if missing: liburing-dev, and wrk, socat and
# netcat-openbsd, which the example-server tests drive their servers with.
#
# Usage: ./scripts/test.sh [extra swift test arguments, e.g. --filter RingTests]
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n==> %s\n' "$*" >&2; }

source "scripts/install-deps.sh"
install_packages liburing-dev wrk socat netcat-openbsd curl

# In parallel (Swift Testing's default): a test that counts the process's
# descriptors or changes process-wide state (.ownsProcess) runs alone, the
# others (.sharesProcess) together (Tests/TestSupport/ProcessGate.swift).
step "swift test $*"
swift test "$@"

# The sanitizer runs stay one test at a time (--no-parallel): they are several
# times slower, and the gate was checked in parallel only in the debug build.

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

# The optional products build only with their package traits (scratch path of
# their own, so the default build is not rebuilt).
step "swift test --enable-all-traits (the optional products' tests)"
swift test --enable-all-traits --scratch-path .build-traits \
  --filter "ServiceLifecycleTests|ObservabilityBridgeTests"

step "all tests passed (debug, ThreadSanitizer, AddressSanitizer)"
