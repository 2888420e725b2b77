import Synchronization

/// Deadlines for I/O operations: every operation started on any reactor inside
/// ``withDeadline(_:_:)`` is submitted with an `IORING_OP_LINK_TIMEOUT`.
///
/// When the deadline passes first, the kernel cancels the operation; the
/// operation keeps its memory (and descriptor) until its own CQE, as always,
/// and the call throws ``IOError/Kind/timedOut``. An operation started after
/// the deadline fails at once with `.timedOut` and submits nothing. Nested
/// scopes use the earliest deadline. The scope is a task-local value: child
/// tasks created inside it inherit it. A ``FileChunks`` stream or a
/// ``FileWriter`` takes the deadline in effect when it is created, for
/// every operation it submits later (read-ahead, queued writes).
///
/// Cost: outside any scope, an operation pays one relaxed atomic load.
public enum IODeadline {
  /// The innermost scope's deadline, as nanoseconds on `CLOCK_BOOTTIME`
  /// (`ContinuousClock.Instant` is a resilient type: costly on a hot path).
  @TaskLocal static var current: OperationDeadline?

  /// Scopes open in the process: operations look the task-local value up only
  /// when some scope is open.
  // Ordering: relaxed. A scope opened on another thread cannot concern the
  // calling task unless that task runs inside it, and then the task's own
  // increment (or its parent's, ordered by task creation) happened before.
  private static let openScopes = Atomic<Int>(0)

  /// Runs `body` with every I/O operation it starts due by `deadline`.
  ///
  /// - Throws: whatever `body` throws; operations that time out throw
  ///   ``IOError`` with kind ``IOError/Kind/timedOut``.
  public static func withDeadline<T, E: Error>(
    _ deadline: ContinuousClock.Instant,
    _ body: () async throws(E) -> T
  ) async throws(E) -> T {
    let requested = OperationDeadline(deadline)
    let effective = current.map { min($0, requested) } ?? requested
    openScopes.add(1, ordering: .relaxed)
    defer { openScopes.subtract(1, ordering: .relaxed) }
    let result: Result<T, E> = await $current.withValue(effective) {
      do throws(E) {
        return .success(try await body())
      } catch {
        return .failure(error)
      }
    }
    return try result.get()
  }

  /// Runs `body` with every I/O operation it starts due within `timeout` from now.
  public static func withTimeout<T, E: Error>(
    _ timeout: Duration,
    _ body: () async throws(E) -> T
  ) async throws(E) -> T {
    try await withDeadline(.now + timeout, body)
  }

  /// The deadline for an operation: `explicit`, else the scope's (earliest wins).
  @inline(__always)
  static func effective(_ explicit: OperationDeadline?) -> OperationDeadline? {
    guard openScopes.load(ordering: .relaxed) > 0, let scoped = current else { return explicit }
    guard let explicit else { return scoped }
    return min(explicit, scoped)
  }
}

/// A deadline on `ContinuousClock` as nanoseconds since its epoch
/// (`CLOCK_BOOTTIME`), rounded up: a plain integer where
/// `ContinuousClock.Instant` (resilient) would cost value-witness calls.
struct OperationDeadline: Comparable, Sendable {
  let nanoseconds: Int64

  init(_ instant: ContinuousClock.Instant) {
    nanoseconds = TimerClock.deadline(instant)
  }

  static func < (lhs: OperationDeadline, rhs: OperationDeadline) -> Bool {
    lhs.nanoseconds < rhs.nanoseconds
  }

  /// Whether it has passed.
  var hasPassed: Bool { nanoseconds <= TimerClock.continuous.now }
}
