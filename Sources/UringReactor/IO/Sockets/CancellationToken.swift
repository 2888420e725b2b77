import Synchronization

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
