// swift-tools-version: 6.1
import PackageDescription

let strictSwift: [SwiftSetting] = [
  .swiftLanguageMode(.v6),
  .enableUpcomingFeature("ExistentialAny"),
  .enableUpcomingFeature("InternalImportsByDefault"),
]

let testSwift: [SwiftSetting] = [.swiftLanguageMode(.v6)]

let package = Package(
  name: "UringReactor",
  platforms: [.macOS(.v15)],
  products: [
    .library(name: "UringReactor", targets: ["UringReactor"]),
    .library(name: "Uring", targets: ["Uring"]),
    .executable(name: "uring-bench", targets: ["uring-bench"]),
    .executable(name: "uring-probe", targets: ["uring-probe"]),
    .executable(name: "echo-server", targets: ["echo-server"]),
    .executable(name: "http-server", targets: ["http-server"]),
    .executable(name: "static-server", targets: ["static-server"]),
    .executable(name: "global-executor", targets: ["global-executor"]),
    .executable(name: "main-thread", targets: ["main-thread"]),
    // For the Benchmarks/ package only (the C baselines); not API.
    .library(name: "CBaselines", targets: ["CBaselines"]),
    .executable(name: "uring-cp", targets: ["uring-cp"]),
  ],
  dependencies: [
    .package(url: "https://github.com/apple/swift-system", from: "1.4.0")
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
      swiftSettings: strictSwift
    ),
    // The reactor: loop thread, executors, memory, I/O, bridges.
    .target(
      name: "UringReactor",
      dependencies: [
        "Uring",
        "CLibUring",
        .product(name: "SystemPackage", package: "swift-system"),
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
        .product(name: "SystemPackage", package: "swift-system"),
      ],
      swiftSettings: testSwift
    ),
  ]
)
