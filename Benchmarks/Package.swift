// swift-tools-version: 6.1
// Allocation, CPU, syscall and wall-time benchmarks of UringReactor, with
// SwiftNIO and C liburing for comparison (ordo-one's package-benchmark).
// A separate package, so that the library's users never build SwiftNIO.
//
//   swift package --package-path Benchmarks benchmark
//   swift package --package-path Benchmarks benchmark --target ReactorBenchmarks \
//     thresholds check --path Benchmarks/Thresholds
//
// See Docs/Performance.md.
import PackageDescription

let package = Package(
  name: "UringReactorBenchmarks",
  dependencies: [
    // `name:` so that the target dependencies below do not depend on the
    // name of the directory the repository was cloned into.
    .package(name: "UringReactor", path: ".."),
    .package(
      url: "https://github.com/ordo-one/benchmark", from: "1.38.1",
      traits: ["MallocInterposer"]),
    .package(url: "https://github.com/apple/swift-nio", from: "2.101.0"),
  ],
  targets: [
    // Plain C over liburing (the root package's Sources/CBaselines, through
    // a symbolic link: the root package does not export it as a product).
    .target(
      name: "CBaselines", path: "Sources/CBaselines",
      linkerSettings: [.linkedLibrary("uring")]),
    // Counts every syscall of the process (perf tracepoint raw_syscalls:sys_enter).
    .target(name: "CSyscallCounter"),
    // What both benchmark targets share: the syscall metric, a page-cached
    // scratch file, a blocking echo client.
    .target(
      name: "BenchmarkSupport",
      dependencies: [
        "CSyscallCounter",
        .product(name: "Benchmark", package: "benchmark"),
      ],
      swiftSettings: [.swiftLanguageMode(.v6)]
    ),
    // The reactor alone (no SwiftNIO: quick to build): the allocation
    // thresholds that CI checks (Thresholds/).
    .executableTarget(
      name: "ReactorBenchmarks",
      dependencies: [
        "BenchmarkSupport",
        .product(name: "Benchmark", package: "benchmark"),
        .product(name: "UringReactor", package: "UringReactor"),
      ],
      path: "Benchmarks/ReactorBenchmarks",
      swiftSettings: [.swiftLanguageMode(.v6)],
      plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
    ),
    // SwiftNIO's echo servers (handler, NIOAsyncChannel) as a process that
    // uring-bench drives with its C client (systems `nio`, `nio-async-channel`).
    // No Benchmark dependency: no malloc interposer in the measured server.
    // The stdin/stdout protocol the server processes below share.
    .target(
      name: "ServerHarness", path: "Sources/ServerHarness",
      swiftSettings: [.swiftLanguageMode(.v6)]),
    .executableTarget(
      name: "nio-echo-server",
      dependencies: [
        "ServerHarness",
        .product(name: "NIOCore", package: "swift-nio"),
        .product(name: "NIOPosix", package: "swift-nio"),
      ],
      path: "Sources/nio-echo-server",
      swiftSettings: [.swiftLanguageMode(.v6)]
    ),
    // SwiftNIO's NIOFileSystem reading a file at random offsets, as a process
    // that uring-bench runs (system `nio-filesystem` of its file-read workloads).
    .executableTarget(
      name: "nio-filesystem-reader",
      dependencies: [.product(name: "_NIOFileSystem", package: "swift-nio")],
      path: "Sources/nio-filesystem-reader",
      swiftSettings: [.swiftLanguageMode(.v6)]
    ),
    // SwiftNIO's HTTP/1.1 server with a fixed keep-alive response, as a
    // process that uring-bench drives with wrk (system `nio` of its http
    // workloads), next to the reactor's Examples/http-server.
    .executableTarget(
      name: "nio-http-server",
      dependencies: [
        "ServerHarness", "NIOHTTPServerSupport",
        .product(name: "NIOCore", package: "swift-nio"),
        .product(name: "NIOHTTP1", package: "swift-nio"),
      ],
      path: "Sources/nio-http-server",
      swiftSettings: [.swiftLanguageMode(.v6)]
    ),
    // SwiftNIO's static-file server (FileRegion: sendfile), for uring-bench's
    // http-static-64k workload next to the reactor's Examples/static-server.
    .executableTarget(
      name: "nio-static-server",
      dependencies: [
        "ServerHarness", "NIOHTTPServerSupport",
        .product(name: "NIOCore", package: "swift-nio"),
        .product(name: "NIOHTTP1", package: "swift-nio"),
      ],
      path: "Sources/nio-static-server",
      swiftSettings: [.swiftLanguageMode(.v6)]
    ),
    // The HTTP/1.1 listener both SwiftNIO HTTP servers share.
    .target(
      name: "NIOHTTPServerSupport",
      dependencies: [
        "ServerHarness",
        .product(name: "NIOCore", package: "swift-nio"),
        .product(name: "NIOHTTP1", package: "swift-nio"),
        .product(name: "NIOPosix", package: "swift-nio"),
      ],
      path: "Sources/NIOHTTPServerSupport",
      swiftSettings: [.swiftLanguageMode(.v6)]
    ),
    // The same workloads on SwiftNIO and in C over liburing.
    .executableTarget(
      name: "ComparisonBenchmarks",
      dependencies: [
        "BenchmarkSupport",
        .product(name: "Benchmark", package: "benchmark"),
        "CBaselines",
        .product(name: "NIOCore", package: "swift-nio"),
        .product(name: "NIOPosix", package: "swift-nio"),
        .product(name: "_NIOFileSystem", package: "swift-nio"),
      ],
      path: "Benchmarks/ComparisonBenchmarks",
      swiftSettings: [.swiftLanguageMode(.v6)],
      plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
    ),
  ]
)
