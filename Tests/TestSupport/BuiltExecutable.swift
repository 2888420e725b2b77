import Glibc

/// Executables of this package (examples, `uring-probe`) built next to the
/// running test executable, and tools found on `PATH`.
public enum BuiltExecutable {
  /// Where the test executable lives, from `/proc/self/exe`.
  public static var testExecutable: String {
    var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
    let count = unsafe readlink("/proc/self/exe", &buffer, buffer.count - 1)
    guard count > 0 else { return "" }
    return String(decoding: buffer[..<count].map { UInt8(bitPattern: $0) }, as: UTF8.self)
  }

  /// The test executable's directory and its parents (each also with a
  /// `debug/` child), a few levels up: where SwiftPM puts the products.
  public static var searchedDirectories: [String] {
    var directories: [String] = []
    var path = testExecutable
    while directories.count < 8, let slash = path.lastIndex(of: "/"), slash != path.startIndex {
      path = String(path[..<slash])
      directories.append(path)
      directories.append(path + "/debug")
    }
    return directories
  }

  /// The path of product `name`, or `nil` if it was not built.
  public static func path(_ name: String) -> String? {
    searchedDirectories.map { $0 + "/" + name }.first { unsafe access($0, X_OK) == 0 }
  }

  /// Why `path(name)` is `nil`, and how to fix it (for a visible skip or a
  /// failed `#require`).
  public static func notFound(_ name: String) -> String {
    "\(name) was not found next to the test executable \(testExecutable) (searched "
      + "\(searchedDirectories.joined(separator: ", "))). `swift test` should have built it; "
      + "build it with `swift build --scratch-path <same scratch path> --product \(name)` "
      + "(same configuration and sanitizers) and rerun the tests."
  }

  /// The path of tool `name` on `PATH`, or `nil`.
  public static func tool(_ name: String) -> String? {
    let path = unsafe getenv("PATH").map { unsafe String(cString: $0) } ?? "/usr/bin:/bin"
    return path.split(separator: ":").map { "\($0)/\(name)" }.first { unsafe access($0, X_OK) == 0 }
  }
}
