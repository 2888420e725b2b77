#!/usr/bin/env bash
# Builds the benchmark in release mode (uring-bench, the http-server example and
# Benchmarks/'s SwiftNIO servers) and prints a table comparing the reactor with
# Dispatch, DispatchIO, Swift's default executor, SwiftNIO and plain C over
# liburing, and draws it as uring-bench.svg. Installs what it needs first if
# missing: liburing-dev, wrk (the http workloads) and fio (the reference row of the
# file-direct-* workloads).
#
# Usage: ./scripts/bench.sh [uring-bench options: --quick, --json, --chart FILE,
#        --workload ID, --system ID, --rounds N; see --help]
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n==> %s\n' "$*" >&2; }

source "scripts/install-deps.sh"
install_packages liburing-dev wrk fio

# Build first with its log on stderr, so that `--json` leaves clean JSON on stdout.
step "swift build -c release --product uring-bench"
swift build -c release --product uring-bench >&2
# The reactor's HTTP example, which the http workloads drive with wrk.
step "swift build -c release --product http-server"
swift build -c release --product http-server >&2
# The static-file example, which http-static-64k drives with wrk.
step "swift build -c release --product static-server"
swift build -c release --product static-server >&2

# SwiftNIO's echo servers (systems `nio`, `nio-async-channel` of the echo
# workloads) live in the Benchmarks/ package, so that uring-bench itself needs
# nothing but the toolchain and liburing. Build them if SwiftNIO can be fetched;
# without them uring-bench runs every other system and says how to add them.
step "swift build -c release --package-path Benchmarks --product nio-echo-server"
if ! swift build -c release --package-path Benchmarks --product nio-echo-server >&2; then
  step "nio-echo-server did not build (no network for SwiftNIO?): no SwiftNIO rows this time"
fi
# SwiftNIO's HTTP server (system `nio` of the http workloads).
step "swift build -c release --package-path Benchmarks --product nio-http-server"
if ! swift build -c release --package-path Benchmarks --product nio-http-server >&2; then
  step "nio-http-server did not build: no SwiftNIO rows in the http workloads this time"
fi
# SwiftNIO's static-file server (system `nio` of http-static-64k).
step "swift build -c release --package-path Benchmarks --product nio-static-server"
if ! swift build -c release --package-path Benchmarks --product nio-static-server >&2; then
  step "nio-static-server did not build: no SwiftNIO row in http-static-64k this time"
fi

# SwiftNIO's NIOFileSystem reader (system `nio-filesystem` of the random file reads).
step "swift build -c release --package-path Benchmarks --product nio-filesystem-reader"
if ! swift build -c release --package-path Benchmarks --product nio-filesystem-reader >&2; then
  step "nio-filesystem-reader did not build: no nio-filesystem rows this time"
fi

# Also draw the chart (uring-bench.svg, next to this checkout's README) unless
# the caller names one.
chart=(--chart uring-bench.svg)
for argument in "$@"; do
  case "$argument" in --chart | --chart=*) chart=() ;; esac
done

step "swift run -c release uring-bench ${chart[*]} $*"
swift run -c release --skip-build uring-bench "${chart[@]}" "$@"
