import Glibc
import Testing
import Uring

@testable import UringReactor

/// Whether io_uring can be used by this test process; tests that need it are
/// skipped (visibly) when not.
let uringAvailability: Result<Void, UringUnavailableError> = {
  do throws(UringUnavailableError) {
    _ = try Ring(options: .minimal)
    return .success(())
  } catch {
    return .failure(error)
  }
}()

extension Trait where Self == ConditionTrait {
  /// Skips the test, with the reason, when io_uring is unavailable here.
  static var requiresUring: Self {
    .enabled {
      if case .failure(let error) = uringAvailability {
        print("skipping: \(error)")
        return false
      }
      return true
    }
  }
}

/// Builds a reactor for one test and shuts it down afterwards.
func withReactor<T>(
  _ options: ReactorOptions = ReactorOptions(),
  _ body: (Reactor) async throws -> T
) async throws -> T {
  let reactor = try Reactor(options: options)
  do {
    let result = try await body(reactor)
    await reactor.shutdown()
    return result
  } catch {
    await reactor.shutdown()
    throw error
  }
}

/// The number of open file descriptors of this process.
func openDescriptorCount() -> Int {
  guard let dir = opendir("/proc/self/fd") else { return -1 }
  defer { closedir(dir) }
  var count = 0
  while readdir(dir) != nil { count += 1 }
  return count - 3  // ".", ".." and the directory's own descriptor
}

/// A thread-safe array of counters.
final class Tally: Sendable {
  private let counts: Locked<[Int]>
  init(_ size: Int) { counts = Locked([Int](repeating: 0, count: size)) }
  func add(_ index: Int) { counts.withLock { $0[index] += 1 } }
  func snapshot() -> [Int] { counts.withLock { $0 } }
}

/// This process's environment as it started (`environ` itself cannot be read
/// in Swift 6 mode), for child processes: a nil `envp` would give them none,
/// and sanitizer options must reach them.
func inheritedEnvironment() -> [UnsafeMutablePointer<CChar>?] {
  guard let fd = Optional(open("/proc/self/environ", O_RDONLY)), fd >= 0 else { return [nil] }
  defer { close(fd) }
  var bytes: [UInt8] = []
  var chunk = [UInt8](repeating: 0, count: 4096)
  while true {
    let count = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
    if count <= 0 { break }
    bytes.append(contentsOf: chunk[..<count])
  }
  let entries = bytes.split(separator: 0).map { entry in
    strdup(String(decoding: entry, as: UTF8.self))
  }
  return entries + [nil]
}
