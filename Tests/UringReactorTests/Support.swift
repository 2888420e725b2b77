import Glibc
import SystemPackage
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

/// The number of open file descriptors of this process. Only meaningful in a
/// test marked `.ownsProcess` (``ProcessGate``): no other test runs then, so
/// the count before and after the test's work compares only its descriptors.
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

/// Runs `body` with a reactor, the read end of a new pipe adopted as a `File`
/// (a read of it stays in flight until the test writes to `writeEnd`, closes
/// it, or cancels the read) and an `OperationRecorder` installed on the loop.
/// Shuts the reactor down and closes `writeEnd` afterwards; the test owns
/// `file` (and closes it where it checks descriptor counts).
func withPipeReader<T>(
  _ body: (Reactor, File, FileDescriptor, OperationRecorder) async throws -> T
) async throws -> T {
  try await withReactor { reactor in
    let fds = try FileDescriptor.pipe()
    defer { try? fds.writeEnd.close() }
    let recorder = OperationRecorder()
    try await recorder.install(on: reactor)
    return try await body(reactor, File(adopting: fds.readEnd, on: reactor), fds.writeEnd, recorder)
  }
}
