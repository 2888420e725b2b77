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
    .executableTarget(
      name: "uring-bench",
      dependencies: ["UringReactor", "Uring", "CLibUring"],
      swiftSettings: strictSwift
    ),
    .executableTarget(
      name: "uring-probe",
      dependencies: ["Uring", "CLibUring"],
      swiftSettings: strictSwift
    ),
    .testTarget(
      name: "UringTests",
      dependencies: ["Uring", "CLibUring"],
      swiftSettings: testSwift
    ),
    .testTarget(
      name: "UringReactorTests",
      dependencies: [
        "UringReactor", "Uring", "CLibUring", "CDeviceDouble",
        .product(name: "SystemPackage", package: "swift-system"),
      ],
      swiftSettings: testSwift
    ),
  ]
)
