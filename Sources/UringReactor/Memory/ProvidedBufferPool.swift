import Glibc
import Synchronization
import Uring

/// Buffers registered with one reactor's ring as a provided-buffer ring
/// (`IORING_REGISTER_PBUF_RING`), from which multishot receives
/// (`IORING_OP_RECV` with `IORING_RECV_MULTISHOT` and `IOSQE_BUFFER_SELECT`)
/// take a buffer only when bytes arrive: thousands of idle connections cost
/// no buffer at all.
///
/// - Lending: each received chunk is lent to its consumer as a move-only
///   ``ReceivedBytes``; releasing it puts its buffer back in the ring, on the
///   loop thread (from another thread the release is posted there, batched).
/// - Backpressure: once a connection has ``maximumQueuedPerConnection``
///   chunks its consumer has not taken, its multishot receive is cancelled,
///   and re-armed when the consumer has taken half. (The kernel may have
///   received a burst beyond the limit before the loop saw it: what the
///   socket held, at most its receive buffer's worth.) When the ring runs dry
///   the kernel ends receives with `ENOBUFS`; they are re-armed as buffers
///   come back, never in a busy loop. So at most ``count`` buffers
///   (``lentCount``) are ever out of the ring, and a slow consumer holds a
///   bounded share of them.
/// - Lifetime: every multishot receive that may pick a buffer retains the
///   pool in its in-flight slot, and every ``ReceivedBytes`` retains it, so
///   its memory outlives the kernel's and the consumers' use. The last
///   reference unregisters the group on the loop thread, then unmaps.
/// - Thread-safety: `Sendable`. The ring itself is touched only on the loop
///   thread (rule 5).
public final class ProvidedBufferPool: @unchecked Sendable {
  /// The reactor whose ring the buffers are registered with.
  public let reactor: Reactor
  /// `reactor.loop`, kept so that hot paths never retain the reactor.
  let loop: EventLoop
  /// How many buffers the pool holds.
  public let count: Int
  /// The size of each buffer: the most bytes one ``ReceivedBytes`` holds.
  public let bufferSize: Int
  /// The buffer group id (`sqe->buf_group`) in the reactor's ring.
  public let group: UInt16
  /// The most received chunks one connection queues before its multishot
  /// receive pauses until its consumer takes some.
  public let maximumQueuedPerConnection: Int
  let storage: ProvidedBufferStorage
  // Ordering: relaxed. Written on the loop thread only; read anywhere as
  // statistics, with no other memory depending on them.
  private let lent = Atomic<Int>(0)
  private let peakLent = Atomic<Int>(0)
  /// Buffers released on other threads, waiting to be recycled by the loop.
  let returns = Locked(PendingReturns())

  // MARK: Loop-thread state (no dynamic exclusivity checks: one thread)
  /// Receivers whose multishot receive ended with `ENOBUFS`, to re-arm once
  /// buffers come back.
  @exclusivity(unchecked) var bufferWaiters: [StreamReceiver] = []
  /// The timeout that stands for the buffer waiters in the in-flight table,
  /// so that a shutdown reaches them (see `ProvidedBufferPool+Waiters.swift`).
  @exclusivity(unchecked) var sentinel: UInt64?

  struct PendingReturns {
    var ids: [UInt16] = []
    var scheduled = false
  }

  private init(
    reactor: Reactor, storage: ProvidedBufferStorage, group: UInt16, maximumQueued: Int
  ) {
    self.reactor = reactor
    self.loop = reactor.loop
    self.storage = storage
    self.count = storage.count
    self.bufferSize = storage.size
    self.group = group
    self.maximumQueuedPerConnection = maximumQueued
  }

  deinit {
    // Nothing can pick a buffer any more: every receive that could retains
    // the pool. Unregister on the loop thread, then unmap.
    let storage = self.storage
    let group = self.group
    reactor.runOnLoop { loop in
      if let loop { unsafe try? loop.ring!.unregisterBufferRing(group: group) }
      withExtendedLifetime(storage) {}
    }
  }

  /// Maps `count` buffers of `bufferSize` bytes and registers them with
  /// `reactor`'s ring as a new buffer group (on the loop thread).
  ///
  /// Only the ring's entries (16 bytes per buffer) are pinned; the buffers
  /// are ordinary memory.
  ///
  /// - Throws: ``ProvidedBufferError``.
  public static func register(
    count: Int = 1024, bufferSize: Int = 4096, maximumQueuedPerConnection: Int = 16,
    on reactor: Reactor
  ) async throws(ProvidedBufferError) -> ProvidedBufferPool {
    let maximumQueued = max(1, maximumQueuedPerConnection)
    return try await reactor.onLoop { loop throws(ProvidedBufferError) in
      try make(
        count: count, bufferSize: bufferSize, maximumQueued: maximumQueued, reactor: reactor,
        loop: loop)
    }
  }

  /// How many buffers are out of the ring: queued for a consumer or held by
  /// a ``ReceivedBytes``.
  public var lentCount: Int { lent.load(ordering: .relaxed) }

  /// The most buffers that were ever out of the ring at once.
  public var peakLentCount: Int { peakLent.load(ordering: .relaxed) }

  /// Registers a pool from the loop thread.
  static func make(
    count: Int, bufferSize: Int, maximumQueued: Int, reactor: Reactor, loop: EventLoop
  ) throws(ProvidedBufferError) -> ProvidedBufferPool {
    guard loop.ownsLoopState, loop.lifecycle == .running else {
      throw ProvidedBufferError(.reactorShutDown)
    }
    // Group ids are per ring; another pool (or another library) may hold
    // one: try the next.
    for _ in 0..<64 {
      let group = UInt16(truncatingIfNeeded: nextGroup.add(1, ordering: .relaxed).newValue)
      let storage = try ProvidedBufferStorage(count: count, size: bufferSize, group: group)
      do throws(BufferRingError) {
        unsafe try loop.ring!.registerBufferRing(storage.ring)
      } catch {
        if error.cause == .groupInUse { continue }
        throw ProvidedBufferError(.kernel(error))
      }
      return ProvidedBufferPool(
        reactor: reactor, storage: storage, group: group, maximumQueued: maximumQueued)
    }
    throw ProvidedBufferError(.kernel(BufferRingError(cause: .groupInUse, errno: .fileExists)))
  }

  /// The next group id to try. Ordering: relaxed, it only spreads ids.
  private static let nextGroup = Atomic<UInt32>(0x5000)

  // MARK: Lending (loop thread)

  /// The kernel picked one of the pool's buffers for a completion.
  @inline(__always)
  func taken() {
    let now = lent.load(ordering: .relaxed) + 1
    lent.store(now, ordering: .relaxed)
    if now > peakLent.load(ordering: .relaxed) { peakLent.store(now, ordering: .relaxed) }
  }

  /// Puts buffer `id` back in the ring. Loop thread only (rule 5).
  func recycle(_ id: UInt16) {
    recycle(all: CollectionOfOne(id))
  }

  /// Puts buffers `ids` back in the ring, published at once, then re-arms
  /// the receivers waiting for them. Loop thread only (rule 5).
  private func recycle(all ids: some Collection<UInt16>) {
    for id in ids { storage.recycle(id) }
    storage.publish()
    lent.store(lent.load(ordering: .relaxed) - ids.count, ordering: .relaxed)
    if unsafe !bufferWaiters.isEmpty { wakeBufferWaiters() }
  }

  /// Releases buffer `id` from any thread: recycled now on the loop thread,
  /// otherwise posted there (one task per batch of releases).
  func release(_ id: UInt16) {
    if loop.ownsLoopState {
      recycle(id)
      return
    }
    let mustSchedule = returns.withLock { pending -> Bool in
      pending.ids.append(id)
      if pending.scheduled { return false }
      pending.scheduled = true
      return true
    }
    guard mustSchedule else { return }
    reactor.runOnLoop { loop in
      let ids = self.returns.withLock { pending -> [UInt16] in
        pending.scheduled = false
        defer { pending.ids.removeAll(keepingCapacity: true) }
        return pending.ids
      }
      // After termination the ring is gone: nothing to give back.
      guard loop != nil else { return }
      self.recycle(all: ids)
    }
  }

  /// The bytes of buffer `id`.
  @inline(__always)
  func bytes(_ id: UInt16, count: Int) -> UnsafeRawBufferPointer {
    unsafe UnsafeRawBufferPointer(rebasing: storage.buffer(id)[..<count])
  }
}
