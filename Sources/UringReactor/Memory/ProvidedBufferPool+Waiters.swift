import Glibc
import Uring

extension ProvidedBufferPool {
  /// `receiver`'s multishot receive ended with `ENOBUFS`: re-arm it once a
  /// buffer comes back. Loop thread only.
  ///
  /// While any receiver waits, a long timeout (the sentinel) is in flight for
  /// them: a waiting receiver has no operation of its own in the in-flight
  /// table, and without one a reactor shutdown would never reach it (the loop
  /// leaves when its table is empty). The sentinel is cancelled when the
  /// last waiter leaves; at shutdown its cancellation fails every waiter.
  func waitForBuffers(_ receiver: StreamReceiver, loop: EventLoop) {
    if lentCount < count {
      // Buffers came back between the kernel's ENOBUFS and now.
      receiver.buffersAvailable(loop: loop)
      return
    }
    unsafe bufferWaiters.append(receiver)
    if unsafe sentinel == nil { startSentinel(loop: loop) }
  }

  /// Stops waiting for `receiver` (it was closed).
  func stopWaiting(_ receiver: StreamReceiver, loop: EventLoop) {
    unsafe bufferWaiters.removeAll { $0 === receiver }
    if unsafe bufferWaiters.isEmpty, let sentinel = unsafe sentinel {
      loop.cancelOnLoop(sentinel, reason: .task)
    }
  }

  /// Re-arms as many waiting receivers as there are buffers in the ring, in
  /// the order they began waiting. Loop thread only.
  func wakeBufferWaiters() {
    let loop = self.loop
    let available = count - lentCount
    guard available > 0 else { return }
    let woken = unsafe Array(bufferWaiters.prefix(available))
    unsafe bufferWaiters.removeFirst(woken.count)
    if unsafe bufferWaiters.isEmpty, let sentinel = unsafe sentinel {
      loop.cancelOnLoop(sentinel, reason: .task)
    }
    for receiver in woken { receiver.buffersAvailable(loop: loop) }
  }

  /// The sentinel's final completion.
  func sentinelCompleted(cancellation: CancellationReason?) {
    unsafe sentinel = nil
    let loop = self.loop
    guard cancellation != .shutdown, loop.ownsLoopState, loop.lifecycle == .running else {
      failBufferWaiters()
      return
    }
    guard unsafe !bufferWaiters.isEmpty else { return }
    // Expired (an hour without a buffer coming back) or cancelled by a
    // waiter that left just as another came: stand for them again.
    startSentinel(loop: loop)
  }

  /// Starts the sentinel: a relative `IORING_OP_TIMEOUT` of an hour, whose
  /// slot retains its timespec and the pool until its CQE (rule 1). If the
  /// loop refuses it (shutting down), no buffer will come back: the waiters
  /// fail now.
  private func startSentinel(loop: EventLoop) {
    let spec = TimeoutSpec(nanoseconds: Self.sentinelInterval)
    unsafe sentinel = unsafe loop.start(
      .timeout(timespec: spec.pointer, count: 0, flags: 0),
      handler: BufferWaitSentinel(pool: self), retaining: (spec, self))
    if unsafe sentinel == nil { failBufferWaiters() }
  }

  /// The sentinel's timeout, in nanoseconds: long, since it only has to be in
  /// flight; when it expires it is started again.
  private static var sentinelInterval: Int64 { 3600 * 1_000_000_000 }

  /// The reactor is shutting down: no buffer will come back to a waiter.
  private func failBufferWaiters() {
    let failed = unsafe bufferWaiters
    unsafe bufferWaiters.removeAll()
    for receiver in failed { receiver.poolUnavailable() }
  }
}

/// Receives the completion of a pool's sentinel timeout.
final class BufferWaitSentinel: CompletionHandler {
  private let pool: ProvidedBufferPool

  init(pool: ProvidedBufferPool) { self.pool = pool }

  func complete(_ completion: Completion, isFinal: Bool, cancellation: CancellationReason?) {
    guard isFinal else { return }
    pool.sentinelCompleted(cancellation: cancellation)
  }
}

extension ProvidedBufferPool {
  /// The pool `receive()` uses on connections created without one: one per
  /// reactor, made on first use and kept while any connection uses it (1,024
  /// buffers of 4 KiB). Loop thread only.
  static func shared(for reactor: Reactor, loop: EventLoop) throws(ProvidedBufferError)
    -> ProvidedBufferPool
  {
    let key = ObjectIdentifier(reactor)
    if let pool = sharedPools.withLock({ $0[key]?.pool }) { return pool }
    let pool = try make(
      count: 1024, bufferSize: 4096, maximumQueued: 16, reactor: reactor, loop: loop)
    sharedPools.withLock { pools in
      pools = pools.filter { $0.value.pool != nil }
      pools[key] = WeakPool(pool: pool)
    }
    return pool
  }

  /// A pool keeps its reactor alive, so while an entry's pool lives its key
  /// names that reactor.
  private struct WeakPool: @unchecked Sendable {
    weak var pool: ProvidedBufferPool?
  }

  private static let sharedPools = Locked<[ObjectIdentifier: WeakPool]>([:])
}
