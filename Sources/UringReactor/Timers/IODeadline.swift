import Synchronization

/// Deadlines for I/O operations: every operation started on any reactor inside
/// ``withDeadline(_:_:)`` is due by its deadline.
///
/// What it covers, and how:
/// - One-SQE operations (file and socket reads, writes, sends, `connect`,
///   single `accept`, datagram send and receive, `open`, `statx`, the file
///   system operations...) and ``SocketStream/sendZeroCopy(from:)`` are
///   submitted with an `IORING_OP_LINK_TIMEOUT`. When the deadline passes
///   first, the kernel cancels the operation; the operation keeps its memory
///   (and descriptor) until its own final CQE (for a zero-copy send, the
///   notification), as always, and the call throws ``IOError/Kind/timedOut``.
/// - Waits on a multishot operation, ``SocketStream/receive()`` and the
///   `next()` of ``SocketListener/connections(maximumPending:buffers:)``: a
///   wait past the deadline throws `.timedOut` and leaves the stream usable
///   (like `SO_RCVTIMEO`): the multishot keeps running, and what arrives
///   later is queued for the next call. What is queued already is returned
///   even past the deadline. Such a wait's deadline is an entry in the
///   loop's timer heap, served by the kernel timeout `Task.sleep` uses, not
///   an SQE of its own.
/// - A ``FileChunks`` or ``FileOffsetReads`` stream or a ``FileWriter`` takes
///   the deadline in effect when it is created, for every operation it
///   submits later (read-ahead, queued writes).
/// - Not covered: `close`, which is never cancelled (a cancelled task, or
///   one past its deadline, closes the descriptor all the same); work on an
///   ``OffloadPool`` (directory listing, `readlinkat`); and the bridges
///   (``Reactor/awaitEventFD(lending:access:start:finish:)``,
///   ``Reactor/awaitForeignCompletion(lending:access:start:)``), which wait
///   for a foreign party that alone can end the lending of the memory, as
///   with cancellation.
///
/// An operation started after the deadline fails at once with `.timedOut`
/// and submits nothing (a cancelled task's fails with `.cancelled`: the
/// cancellation wins). Each call takes the deadline in effect when it
/// starts. Nested scopes use the earliest deadline. The scope is a
/// task-local value: child tasks created inside it inherit it.
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
