import Dispatch
import Glibc
import Synchronization

/// Aborts the process when a run takes far longer than it should: a benchmark
/// of an executor must not hang silently when the executor loses a job.
final class Watchdog: Sendable {
  private let generation = Atomic<Int>(0)
  private let queue = DispatchQueue(label: "uring-bench.watchdog")

  /// Arms the watchdog; returns the token to disarm it with.
  func arm(after limit: Duration, _ message: String) -> Int {
    let token = generation.add(1, ordering: .acquiringAndReleasing).newValue
    let nanoseconds = Int(limit.seconds * 1e9)
    queue.asyncAfter(deadline: .now() + .nanoseconds(nanoseconds)) {
      guard self.generation.load(ordering: .acquiring) == token else { return }
      Log.error("\nuring-bench: watchdog: \(message); aborting\n")
      exit(3)
    }
    return token
  }

  func disarm(_ token: Int) {
    _ = generation.compareExchange(
      expected: token, desired: token + 1, ordering: .acquiringAndReleasing)
  }
}
