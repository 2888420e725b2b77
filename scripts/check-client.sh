#!/usr/bin/env bash
# Checks what a client of the package sees: a throwaway package outside the
# repository that depends on this one by path and writes only
# `import UringReactor` must build (FilePath, FileDescriptor, Errno,
# RingOptions, UringUnavailableError and Opcode come with it) and run.
# Usage: scripts/check-client.sh [scratch directory, default: a new temporary one]
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
dir=${1:-$(mktemp -d /tmp/uring-client.XXXXXX)}
mkdir -p "$dir/Sources/uring-client"
cat >"$dir/Package.swift" <<SWIFT
// swift-tools-version: 6.1
import PackageDescription

let package = Package(
  name: "uring-client",
  dependencies: [.package(name: "UringReactor", path: "$repo")],
  targets: [
    .executableTarget(
      name: "uring-client",
      dependencies: [.product(name: "UringReactor", package: "UringReactor")],
      swiftSettings: [.swiftLanguageMode(.v6)])
  ]
)
SWIFT
cat >"$dir/Sources/uring-client/main.swift" <<'SWIFT'
import UringReactor

var options = ReactorOptions()
options.ring = RingOptions()
let path: FilePath = "/nonexistent/uring-client-probe"
let mode: FileDescriptor.AccessMode = .readOnly
let expected: Errno = .noSuchFileOrDirectory
let operation: Opcode = .openat
do throws(UringUnavailableError) {
  let reactor = try Reactor(options: options)
  do {
    _ = try await File.open(path, mode, on: reactor)
    print("opened?")
  } catch {
    print(error.errno == expected && error.operation == operation ? "ok: \(error)" : "bad: \(error)")
  }
  await reactor.shutdown()
} catch {
  print("ok (io_uring unavailable: \(error))")
}
SWIFT
cd "$dir"
swift build 2>&1 | tee build.log | tail -1
if grep -q "warning:" build.log; then echo "check-client.sh: warnings" >&2; exit 1; fi
swift run --skip-build uring-client | tee run.log
grep -q "^ok" run.log
