import Synchronization

/// One reactor's queue of group jobs that may run on any reactor of its
/// group: the reactor runs them oldest first, and an idle sibling takes half
/// of them (work stealing).
///
/// Only the owning loop pushes (the jobs its own tasks make ready, and those
/// it takes from its inbox or steals); the owner pops; any sibling steals.
/// Jobs that must stay on this reactor (a task resumed by one of its
/// completions, an actor's job, a task that prefers this very reactor) never
/// enter it: they wait in the loop's private `ready` queue.
///
/// Thread-safety: a `pthread` mutex around a growable ring (uncontended in the
/// common case: the owner's pushes and pops; a thief takes it once per steal
/// of many jobs), with the count mirrored in an atomic so that the owner's
/// "is anything queued?" and a sibling's "is anything to steal?" take no lock.
final class RunQueue: Sendable {
  private struct Storage {
    /// Jobs from `head` on are queued, oldest first; `jobs[..<head]` are
    /// taken and kept only until the next compaction.
    var jobs: [UnownedJob] = []
    var head = 0

    var count: Int { jobs.count - head }

    mutating func compactIfSparse() {
      if head == jobs.count {
        jobs.removeAll(keepingCapacity: true)
        head = 0
      } else if head >= 256, head * 2 >= jobs.count {
        jobs.removeFirst(head)
        head = 0
      }
    }
  }

  private let storage = Locked(Storage())
  /// Jobs queued. Written under the lock; read without it.
  // Ordering: sequentially consistent. The owner's push (a store here) and
  // its later load of a sibling's `RemoteQueue.isSleeping`, against the
  // sibling's store of `sleeping` and its later load of this count, form the
  // Dekker pattern that keeps a sleeping sibling from missing work it should
  // take (see `GroupScheduler.offerWork(from:)`).
  private let queued = Atomic<Int>(0)

  init() {
    storage.withLock { $0.jobs.reserveCapacity(1024) }
  }

  /// How many jobs wait. Any thread; no lock.
  var count: Int { queued.load(ordering: .sequentiallyConsistent) }

  /// Appends `job` and returns how many jobs are queued. Owning loop only.
  @discardableResult
  func push(_ job: UnownedJob) -> Int {
    storage.withLock { storage -> Int in
      storage.jobs.append(job)
      let count = storage.count
      queued.store(count, ordering: .sequentiallyConsistent)
      return count
    }
  }

  /// Appends `jobs` in order. Owning loop only.
  func push(contentsOf jobs: some Collection<UnownedJob>) {
    guard !jobs.isEmpty else { return }
    storage.withLock { storage in
      storage.jobs.append(contentsOf: jobs)
      queued.store(storage.count, ordering: .sequentiallyConsistent)
    }
  }

  /// Takes the oldest job, and says how many are left. Owning loop only.
  func pop() -> (job: UnownedJob, left: Int)? {
    storage.withLock { storage -> (job: UnownedJob, left: Int)? in
      guard storage.count > 0 else { return nil }
      let job = storage.jobs[storage.head]
      storage.head += 1
      storage.compactIfSparse()
      let left = storage.count
      queued.store(left, ordering: .sequentiallyConsistent)
      return (job, left)
    }
  }

  /// Takes the older half of the queued jobs (rounded up: a single job is
  /// taken too) into `stolen`. Any sibling. Returns how many it took.
  func stealHalf(into stolen: inout [UnownedJob]) -> Int {
    storage.withLock { storage -> Int in
      let taken = (storage.count + 1) / 2
      guard taken > 0 else { return 0 }
      stolen.append(contentsOf: storage.jobs[storage.head..<storage.head + taken])
      storage.head += taken
      storage.compactIfSparse()
      queued.store(storage.count, ordering: .sequentiallyConsistent)
      return taken
    }
  }
}
