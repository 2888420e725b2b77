import CLibUring
import Glibc
import Synchronization
import Uring

extension EventLoop {
  /// Suspends the calling task, on the loop thread, until the continuation
  /// handed to `register` is resumed: the building block of waits that are
  /// not one ring operation (a multishot receive's next chunk, the next
  /// accepted connection, a handler-driven operation).
  ///
  /// `register` runs synchronously on the loop thread; it must store the
  /// continuation where a completion handler (or itself) resumes it exactly
  /// once. `onCancel` runs on the cancelling thread (any thread) if the task
  /// is cancelled meanwhile; it must only post to the loop (rule 5).
  ///
  /// Like ``perform(_:retaining:createsDescriptor:cancellable:)``, a caller
  /// isolated to an actor pinned to the reactor goes through a function
  /// whose closure captures that isolation, so that the body stays on the
  /// loop thread (a non-Sendable closure that does not capture it would run
  /// on the global executor).
  nonisolated(nonsending) func suspend<T: Sendable>(
    register: @Sendable (UnsafeContinuation<T, Never>) -> Void,
    onCancel: @escaping @Sendable () -> Void
  ) async -> T {
    precondition(isOnLoopThread, "a socket wait must start on its reactor's loop thread")
    let isolation = #isolation
    if let actor = isolation {
      return await suspendIsolated(register, onCancel: onCancel, isolation: actor)
    }
    return await withTaskCancellationHandler {
      await withUnsafeContinuation { continuation in register(continuation) }
    } onCancel: {
      onCancel()
    }
  }

  private func suspendIsolated<T: Sendable>(
    _ register: @Sendable (UnsafeContinuation<T, Never>) -> Void,
    onCancel: @escaping @Sendable () -> Void,
    isolation: isolated any Actor
  ) async -> T {
    await withTaskCancellationHandler {
      _ = isolation
      return await withUnsafeContinuation { continuation in register(continuation) }
    } onCancel: {
      onCancel()
    }
  }
}

extension Reactor {
  /// Runs `body` on the loop thread: right now if the caller is there,
  /// otherwise soon, from a task that prefers the reactor (one inbox push).
  /// `body` gets the loop if it still owns its state, `nil` once the reactor
  /// has terminated (it may then only release what it holds, e.g. close a
  /// descriptor, never touch the ring).
  ///
  /// For `deinit`s and cancellation handlers, which may run on any thread but
  /// must leave the ring to the loop (rule 5).
  func runOnLoop(_ body: @escaping @Sendable (EventLoop?) -> Void) {
    let loop = self.loop
    if loop.ownsLoopState {
      body(loop)
      return
    }
    Task(executorPreference: self) {
      body(loop.ownsLoopState ? loop : nil)
    }
  }
}

/// How a task's cancellation reaches a handler-driven operation it awaits
/// (`loop.start`): the cancellation handler may run before the operation
/// starts, while it is in flight, or on another thread.
///
/// `state` is 0 before the start, ``cancelledBeforeStart`` once cancelled
/// before, else the operation's `user_data` (never 0 or 1: its generation,
/// the high 32 bits, is at least 1).
final class CancellationToken: Sendable {
  private static let cancelledBeforeStart: UInt64 = 1
  // Ordering: sequentially consistent exchanges, so that of the starter and
  // the canceller exactly one sees the other (the canceller cancels a started
  // operation; the starter cancels at once what was cancelled before it).
  private let state = Atomic<UInt64>(0)
  private let loop: EventLoop

  init(loop: EventLoop) { self.loop = loop }

  /// Whether the task was cancelled before the operation started.
  var isCancelledBeforeStart: Bool {
    state.load(ordering: .sequentiallyConsistent) == Self.cancelledBeforeStart
  }

  /// Records the started operation; if the task was cancelled meanwhile,
  /// cancels it (loop thread).
  func started(_ userData: UInt64, on loop: EventLoop) {
    let (exchanged, _) = state.compareExchange(
      expected: 0, desired: userData, ordering: .sequentiallyConsistent)
    if !exchanged { loop.cancelOnLoop(userData, reason: .task) }
  }

  /// The task was cancelled (any thread).
  func cancel() {
    let previous = state.exchange(Self.cancelledBeforeStart, ordering: .sequentiallyConsistent)
    if previous > Self.cancelledBeforeStart {
      loop.requestCancel(previous, reason: .task)
    }
  }
}

/// Completions nobody waits for: the slot alone keeps what the operation
/// lent (a linked timeout's `timespec`).
final class IgnoredCompletions: CompletionHandler, Sendable {
  static let shared = IgnoredCompletions()
  func complete(_ completion: Completion, isFinal: Bool, cancellation: CancellationReason?) {}
}

/// A `__kernel_timespec` at a stable address, lent to a timeout operation.
final class TimespecBox: @unchecked Sendable {
  // SAFETY: allocated here, freed in `deinit`, after the slot that lent it
  // to the kernel released it.
  let pointer: UnsafeMutablePointer<__kernel_timespec>

  init(_ duration: Duration) {
    let (seconds, attoseconds) = duration.components
    pointer = .allocate(capacity: 1)
    pointer.initialize(
      to: __kernel_timespec(
        tv_sec: max(0, seconds), tv_nsec: seconds < 0 ? 0 : attoseconds / 1_000_000_000))
  }

  deinit { pointer.deallocate() }
}
