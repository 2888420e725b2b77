// swift-tools-version: 6.2
import PackageDescription

let strictSwift: [SwiftSetting] = [
  .swiftLanguageMode(.v6),
  .enableUpcomingFeature("ExistentialAny"),
  .enableUpcomingFeature("InternalImportsByDefault"),
]

// The library targets also check strict memory safety (SE-0458): every use of
// an unsafe construct is marked `unsafe`, next to a `// SAFETY:` note.
let librarySwift: [SwiftSetting] = strictSwift + [.strictMemorySafety()]

let testSwift: [SwiftSetting] = [.swiftLanguageMode(.v6)]

// Linux only (io_uring): SwiftPM has no Linux platform entry, so none is
// declared; the package does not build elsewhere (Glibc, liburing).
let package = Package(
  name: "UringReactor",
  // Libraries only. The examples and tools below are executable targets of
  // this (root) package: `swift build --product X` and `swift run X` still
  // build and run them here, and a client that depends on the package never
  // builds them.
  products: [
    .library(name: "UringReactor", targets: ["UringReactor"]),
    .library(name: "Uring", targets: ["Uring"]),
    // Optional products for the swift-server ecosystem. Each is empty unless
    // its trait is enabled; a client that enables none (the default) neither
    // fetches nor builds swift-service-lifecycle, swift-log or swift-metrics:
    // `.package(url: ..., from: ..., traits: ["ServiceLifecycle"])`.
    .library(name: "UringReactorServiceLifecycle", targets: ["UringReactorServiceLifecycle"]),
    .library(name: "UringReactorLogging", targets: ["UringReactorLogging"]),
    .library(name: "UringReactorMetrics", targets: ["UringReactorMetrics"]),
  ],
  traits: [
    .trait(
      name: "ServiceLifecycle",
      description:
        "UringReactorServiceLifecycle: a swift-service-lifecycle Service for a group's servers"),
    .trait(
      name: "Logging",
      description:
        "UringReactorLogging: the reactors' set-up facts and warnings to a swift-log Logger"),
    .trait(
      name: "Metrics",
      description: "UringReactorMetrics: Reactor.statistics published through swift-metrics"),
    .default(enabledTraits: []),
  ],
  dependencies: [
    .package(url: "https://github.com/apple/swift-system", from: "1.4.0"),
    // Only with their traits (target-based resolution alone would still
    // fetch them for every client; trait-guarded dependencies are pruned).
    .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.6.0"),
    .package(url: "https://github.com/apple/swift-log", from: "1.6.0"),
    .package(url: "https://github.com/apple/swift-metrics", from: "2.4.0"),
  ],
  targets: [
    // The thinnest shim over liburing 2.3: re-exports what Swift cannot import.
    .systemLibrary(
      name: "CLibUring",
      pkgConfig: "liburing",
      providers: [.apt(["liburing-dev"])]
    ),
    // One ring and what it can do. No threads, no async.
    .target(
      name: "Uring",
      dependencies: [
        "CLibUring",
        .product(name: "SystemPackage", package: "swift-system"),
      ],
      swiftSettings: librarySwift
    ),
    // The reactor: loop thread, executors, memory, I/O, bridges.
    .target(
      name: "UringReactor",
      dependencies: [
        "Uring",
        "CLibUring",
        .product(name: "SystemPackage", package: "swift-system"),
      ],
      swiftSettings: librarySwift
    ),
    // The optional products (see `traits`): each compiles to nothing without
    // its trait.
    .target(
      name: "UringReactorServiceLifecycle",
      dependencies: [
        "UringReactor",
        .product(
          name: "ServiceLifecycle", package: "swift-service-lifecycle",
          condition: .when(traits: ["ServiceLifecycle"])),
      ],
      swiftSettings: strictSwift
    ),
    .target(
      name: "UringReactorLogging",
      dependencies: [
        "UringReactor",
        .product(name: "Logging", package: "swift-log", condition: .when(traits: ["Logging"])),
      ],
      swiftSettings: strictSwift
    ),
    .target(
      name: "UringReactorMetrics",
      dependencies: [
        "UringReactor",
        .product(name: "Metrics", package: "swift-metrics", condition: .when(traits: ["Metrics"])),
      ],
      swiftSettings: strictSwift
    ),
    // A C double of a device API that borrows memory and completes later
    // (callback or eventfd). Tests only.
    .target(name: "CDeviceDouble"),
    // Plain C over liburing: the physical limit uring-bench compares against
    // (system `c-liburing`). Benchmark only.
    .target(name: "CBaselines", linkerSettings: [.linkedLibrary("uring")]),
    .executableTarget(
      name: "uring-bench",
      dependencies: ["UringReactor", "Uring", "CLibUring", "CBaselines"],
      swiftSettings: strictSwift
    ),
    .executableTarget(
      name: "uring-probe",
      dependencies: ["Uring", "CLibUring"],
      swiftSettings: strictSwift
    ),
    // Example: a cp(1) that streams through the reactor with bounded memory.
    .executableTarget(
      name: "uring-cp", dependencies: ["UringReactor"], path: "Examples/uring-cp",
      swiftSettings: strictSwift),
    // Example: the reactors as the process's global and main executors.
    .executableTarget(
      name: "global-executor", dependencies: ["UringReactor", "CLibUring"],
      path: "Examples/global-executor", swiftSettings: strictSwift),
    // Example: DispatchQueue.main, the main actor, Foundation's RunLoop and
    // shutdown with sleepers under ReactorRuntime (the one example using Foundation).
    .executableTarget(
      name: "main-thread", dependencies: ["UringReactor", "CLibUring"],
      path: "Examples/main-thread", swiftSettings: strictSwift),
    // Examples: a TCP echo server and an HTTP/1.1 server on one reactor.
    .executableTarget(
      name: "echo-server", dependencies: ["UringReactor", "ServerCommandLine"],
      path: "Examples/echo-server", swiftSettings: strictSwift),
    .executableTarget(
      name: "http-server", dependencies: ["UringReactor", "ServerCommandLine"],
      path: "Examples/http-server", swiftSettings: strictSwift),
    // Example: a static-file HTTP/1.1 server on a group, bodies spliced from files.
    .executableTarget(
      name: "static-server", dependencies: ["UringReactor", "ServerCommandLine"],
      path: "Examples/static-server", swiftSettings: strictSwift),
    // The command line and messages both example servers share.
    .target(
      name: "ServerCommandLine", dependencies: ["UringReactor"],
      path: "Examples/ServerCommandLine", swiftSettings: strictSwift),
    // A child process of the broken-pipe tests: writes to a pipe and sockets
    // whose reader is gone, and reports how it went.
    .executableTarget(
      name: "broken-pipe-probe",
      dependencies: ["UringReactor", .product(name: "SystemPackage", package: "swift-system")],
      path: "Tests/BrokenPipeProbe", swiftSettings: strictSwift),
    // A child process of the service tests: serves under a ServiceGroup until
    // SIGTERM, and reports how it ended (needs the ServiceLifecycle trait).
    .executableTarget(
      name: "service-probe",
      dependencies: [
        "UringReactor", "UringReactorServiceLifecycle",
        .product(
          name: "ServiceLifecycle", package: "swift-service-lifecycle",
          condition: .when(traits: ["ServiceLifecycle"])),
        .product(
          name: "Logging", package: "swift-log", condition: .when(traits: ["ServiceLifecycle"])),
      ],
      path: "Tests/ServiceProbe", swiftSettings: strictSwift),
    // Helpers both test targets share: spawning the built examples and tools,
    // and the gate that runs tests owning process-wide state alone.
    .target(name: "TestSupport", path: "Tests/TestSupport", swiftSettings: testSwift),
    .testTarget(
      name: "UringTests",
      dependencies: ["Uring", "CLibUring", "TestSupport"],
      swiftSettings: testSwift
    ),
    .testTarget(
      name: "UringReactorTests",
      dependencies: [
        "UringReactor", "Uring", "CLibUring", "CDeviceDouble", "TestSupport",
        "UringReactorLogging", "UringReactorMetrics",
        .product(name: "SystemPackage", package: "swift-system"),
        .product(name: "Logging", package: "swift-log", condition: .when(traits: ["Logging"])),
        .product(name: "Metrics", package: "swift-metrics", condition: .when(traits: ["Metrics"])),
        .product(
          name: "MetricsTestKit", package: "swift-metrics", condition: .when(traits: ["Metrics"])),
      ],
      swiftSettings: testSwift
    ),
  ]
)

// The documentation plugin (`swift package generate-documentation`), only when
// building the docs: scripts/docs.sh sets URING_REACTOR_DOCS=1. A client of
// the package never resolves, fetches or builds it.
if Context.environment["URING_REACTOR_DOCS"] != nil {
  package.dependencies.append(
    .package(url: "https://github.com/swiftlang/swift-docc-plugin", from: "1.4.0"))
}
