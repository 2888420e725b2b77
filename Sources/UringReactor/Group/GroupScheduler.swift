import Synchronization

/// What the reactors of one ``ReactorGroup`` share to balance their work:
/// each one's ``RunQueue`` (to steal from) and inbox (to see whether it
/// sleeps, and to wake it).
///
/// The policy, after tokio's multi-threaded scheduler and Go's:
/// - **Local first.** A group job made ready on a reactor's thread (a task
///   spawned there, a task woken by another task there, a `Task.yield()`)
///   is queued on that reactor, with no lock shared with the others in the
///   common case and no wake-up.
/// - **Steal when idle.** A reactor with nothing to run looks at its
///   siblings' queues before it sleeps in `io_uring_enter`, and takes half of
///   the longest one.
/// - **Wake only to give work.** A reactor running jobs with two or more
///   group jobs still queued wakes one sleeping sibling (an eventfd write),
///   which then steals. One job left queued wakes nobody: a chain of tasks
///   waking each other stays on one reactor instead of bouncing between
///   CPUs (~20-40 us a cross-CPU wake-up on these machines).
///
/// Thread-safety: `Sendable`; the peers are published once, after every
/// reactor of the group exists, and read without a lock.
final class GroupScheduler: Sendable {
  /// The group's reactors' queues and inboxes, by reactor index.
  final class Peers: Sendable {
    let runQueues: [RunQueue]
    let remotes: [RemoteQueue]

    init(runQueues: [RunQueue], remotes: [RemoteQueue]) {
      self.runQueues = runQueues
      self.remotes = remotes
    }
  }

  /// How many group jobs a reactor must have queued to wake a sleeping
  /// sibling for them (an awake idle sibling takes even one).
  static let offerThreshold = 2

  // Ordering: `AtomicLazyReference` stores with release and loads with
  // acquire, so a loop that sees the peers sees them whole. Until then (the
  // group is still starting its reactors) nothing is stolen or offered.
  private let published = AtomicLazyReference<Peers>()

  /// Publishes the group's reactors. Once, at the end of the group's `init`.
  func publish(_ peers: Peers) {
    _ = published.storeIfNil(peers)
  }

  var peers: Peers? { published.load() }

  /// Wakes one sleeping sibling of reactor `index`, which has work to give.
  /// Returns whether it woke one.
  ///
  /// The caller has just queued jobs (a sequentially consistent store of its
  /// run queue's count) and now loads each sibling's `sleeping` flag; a
  /// sibling going to sleep stores its flag and then loads every run queue's
  /// count (`hasWork(besides:)`). At least one of the two sees the other, so
  /// the work is not left unseen by a sibling that sleeps.
  func offerWork(from index: Int) -> Bool {
    guard let peers else { return false }
    for (peer, remote) in peers.remotes.enumerated() where peer != index && remote.isSleeping {
      if remote.nudge() { return true }
    }
    return false
  }

  /// Whether a sibling of reactor `index` is awake (running jobs, or
  /// searching for some).
  func hasAwakeSibling(besides index: Int) -> Bool {
    guard let peers else { return false }
    for (peer, remote) in peers.remotes.enumerated() where peer != index && !remote.isSleeping {
      return true
    }
    return false
  }

  /// Whether a sibling of reactor `index` has jobs queued that it could take.
  func hasWork(besides index: Int) -> Bool {
    guard let peers else { return false }
    for (peer, queue) in peers.runQueues.enumerated() where peer != index && queue.count > 0 {
      return true
    }
    return false
  }

  /// Takes half the jobs of the sibling of reactor `index` that has the most
  /// queued, into `stolen`. Returns how many it took.
  func steal(for index: Int, into stolen: inout [UnownedJob]) -> Int {
    guard let peers else { return 0 }
    var victim: RunQueue?
    var most = 0
    for (peer, queue) in peers.runQueues.enumerated() where peer != index {
      let count = queue.count
      if count > most {
        victim = queue
        most = count
      }
    }
    return victim?.stealHalf(into: &stolen) ?? 0
  }
}
