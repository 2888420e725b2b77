import Glibc
import SystemPackage
import Uring

/// A chunk the kernel received into a provided buffer: the buffer's id and
/// how many bytes it holds.
struct ReceivedChunk: Sendable {
  var id: UInt16
  var count: Int
}

/// The multishot receive of one stream socket (`IORING_OP_RECV` with
/// `IORING_RECV_MULTISHOT` into a ``ProvidedBufferPool``), and the chunks it
/// received that the consumer has not taken yet.
///
/// Loop-confined: every method runs on the loop thread (it is also the
/// operation's `CompletionHandler`), so its state skips Swift's dynamic
/// exclusivity checks (`@exclusivity(unchecked)`). The in-flight slot retains the receiver,
/// the pool (the kernel writes its buffers) and the socket (rule 1).
///
/// - Armed lazily, on the first ``next(_:deadline:)``; re-armed when the kernel ends
///   the multishot without an error.
/// - Backpressure: more than `pool.maximumQueuedPerConnection` queued chunks
///   cancel the multishot; it is re-armed once the consumer has taken half.
/// - `ENOBUFS` (the pool is dry) parks the receiver with the pool until a
///   buffer comes back.
/// - End of stream and errors are delivered after the queued chunks.
/// - Deadline: a wait with an ``IODeadline`` ends with `.timedOut` when it
///   passes (a `.continuous` timer entry of the loop, see
///   ``WaitDeadlineHandler``); the multishot keeps running and later bytes
///   are queued for the next call, as after a cancellation.
final class StreamReceiver: CompletionHandler, WaitDeadlineHandler, @unchecked Sendable {
  enum Event: Sendable {
    case chunk(ReceivedChunk)
    case end
    case failure(IOError)
  }

  let pool: ProvidedBufferPool
  /// The socket; `nil` once terminated (breaks the socket → receiver cycle).
  @exclusivity(unchecked) private var socket: SocketHandle?
  @exclusivity(unchecked) private var armed: UInt64?
  /// A cancellation of the multishot for backpressure is in flight.
  @exclusivity(unchecked) private var pausing = false
  @exclusivity(unchecked) private var waitingForBuffers = false
  @exclusivity(unchecked) private var queue = ChunkQueue()
  /// What follows the queued chunks: end of stream or an error.
  @exclusivity(unchecked) private var end: Event?
  @exclusivity(unchecked) private var waiter: LoopContinuation<Event>?
  @exclusivity(unchecked) private var waiterGeneration: UInt64 = 0
  /// The waiter's deadline in the loop's timer queues, if it has one.
  @exclusivity(unchecked) private var waiterDeadline: WaitTimer?
  @exclusivity(unchecked) private var terminated = false

  init(socket: SocketHandle, pool: ProvidedBufferPool) {
    unsafe self.socket = socket
    self.pool = pool
  }

  /// Whether a multishot is armed or chunks are queued (a single-shot read
  /// would then see bytes out of order).
  var isActive: Bool { unsafe armed != nil || !queue.isEmpty || waitingForBuffers }

  /// Chunks received and not taken yet.
  var queuedCount: Int { unsafe queue.count }

  /// The next chunk, `nil` at end of stream. Suspends until one arrives,
  /// or until `deadline` passes (``IOError/Kind/timedOut``).
  ///
  /// Cancellation and deadline: the waiting task resumes with
  /// ``IOError/Kind/cancelled`` or ``IOError/Kind/timedOut``; the multishot
  /// stays armed and bytes that arrive meanwhile stay queued for the next
  /// call (none is lost). What is queued is returned even past the
  /// deadline; with nothing queued, a deadline already past throws at once
  /// (a cancelled task's call throws `.cancelled` first) and arms nothing.
  nonisolated(nonsending) func next(_ loop: EventLoop, deadline: OperationDeadline?)
    async throws(IOError) -> ReceivedChunk?
  {
    let event = await nextEvent(loop, deadline: deadline)
    switch event {
    case .chunk(let chunk): return chunk
    case .end: return nil
    case .failure(let error): throw error
    }
  }

  nonisolated(nonsending) private func nextEvent(
    _ loop: EventLoop, deadline: OperationDeadline?
  ) async -> Event {
    if let chunk = unsafe queue.popFirst() {
      resumeIfCaughtUp(loop)
      return .chunk(chunk)
    }
    if let end = unsafe end {
      // An error is reported once; end of stream follows it.
      if case .failure = end { unsafe self.end = .end }
      return end
    }
    guard unsafe waiter == nil else {
      return unsafe .failure(
        IOError(.system(.resourceBusy), operation: .recv, address: socket?.peer))
    }
    // A served connection whose server drains ends when it would wait.
    if let drain = unsafe socket?.drain, drain.isDraining { return .end }
    guard loop.ownsLoopState, loop.lifecycle == .running else {
      return unsafe .failure(IOError(.reactorShutDown, operation: .recv, address: socket?.peer))
    }
    if let deadline, deadline.hasPassed {
      if Task.isCancelled { return .failure(cancelledError) }
      return unsafe .failure(IOError(.timedOut, operation: .recv, address: socket?.peer))
    }
    if unsafe armed == nil, unsafe !pausing, unsafe !waitingForBuffers { arm(loop) }
    if let event = takeImmediateEvent() { return event }
    unsafe waiterGeneration &+= 1
    let generation = unsafe waiterGeneration
    let reactor = pool.reactor
    return await loop.suspend { (continuation: LoopContinuation<Event>) in
      if Task.isCancelled {
        continuation.resume(returning: .failure(self.cancelledError))
        return
      }
      unsafe self.waiter = continuation
      if let deadline { unsafe self.waiterDeadline = loop.addWaitDeadline(self, deadline) }
    } onCancel: {
      reactor.runOnLoop { _ in self.cancelWaiter(generation) }
    }
  }

  /// The server drains (``ServerDrain``): a consumer waiting with nothing
  /// queued gets end of stream. The multishot stays armed; later calls that
  /// would wait return end of stream too. Loop thread.
  func endIfIdle() {
    guard unsafe queue.isEmpty, let waiter = takeWaiter() else { return }
    waiter.resume(returning: .end)
  }

  /// After arming failed synchronously, the failure is already the end.
  private func takeImmediateEvent() -> Event? {
    guard unsafe queue.isEmpty, let end = unsafe end else { return nil }
    if case .failure = end { unsafe self.end = .end }
    return end
  }

  private var cancelledError: IOError {
    unsafe IOError(.cancelled, operation: .recv, address: socket?.peer)
  }

  private func cancelWaiter(_ generation: UInt64) {
    guard unsafe generation == waiterGeneration, let waiter = takeWaiter() else { return }
    waiter.resume(returning: .failure(cancelledError))
  }

  /// The waiter's deadline passed: it throws `.timedOut`; the multishot
  /// keeps running (later bytes are queued). Loop thread.
  func deadlinePassed(_ timer: WaitTimer) {
    guard unsafe timer == waiterDeadline else { return }
    unsafe waiterDeadline = nil
    guard let waiter = takeWaiter() else { return }
    unsafe waiter.resume(
      returning: .failure(IOError(.timedOut, operation: .recv, address: socket?.peer)))
  }

  /// Takes the waiting consumer, if any, and removes its deadline.
  private func takeWaiter() -> LoopContinuation<Event>? {
    guard let waiter = unsafe waiter else { return nil }
    unsafe self.waiter = nil
    if let timer = unsafe waiterDeadline {
      unsafe waiterDeadline = nil
      pool.loop.removeWaitDeadline(timer)
    }
    return waiter
  }

  private func arm(_ loop: EventLoop) {
    guard let socket = unsafe socket, let fd = socket.descriptor else {
      finish(with: .failure(IOError(.system(.badFileDescriptor), operation: .recv)))
      return
    }
    unsafe armed = loop.start(
      .receiveMultishot(fd: fd, group: pool.group, flags: 0), handler: self,
      retaining: (pool, socket))
    if unsafe armed == nil {
      finish(with: .failure(IOError(.reactorShutDown, operation: .recv, address: socket.peer)))
    }
  }

  /// Re-arms a paused receive once the consumer has taken half the queue.
  private func resumeIfCaughtUp(_ loop: EventLoop) {
    guard unsafe armed == nil, unsafe !pausing, unsafe !waitingForBuffers, unsafe end == nil,
      unsafe !terminated,
      unsafe queue.count <= pool.maximumQueuedPerConnection / 2, loop.ownsLoopState
    else { return }
    arm(loop)
  }

  func complete(_ completion: Completion, isFinal: Bool, cancellation: CancellationReason?) {
    if let id = completion.bufferID {
      pool.taken()
      if completion.result > 0, unsafe !terminated {
        deliver(.chunk(ReceivedChunk(id: id, count: Int(completion.result))))
      } else {
        pool.recycle(id)
      }
    }
    if !isFinal {
      if unsafe queue.count >= pool.maximumQueuedPerConnection, unsafe !pausing,
        let armed = unsafe armed
      {
        unsafe pausing = true
        pool.loop.cancelOnLoop(armed, reason: .task)
      }
      return
    }
    unsafe armed = nil
    let wasPausing = unsafe pausing
    unsafe pausing = false
    guard unsafe !terminated else { return }
    let loop = pool.loop
    let result = completion.result
    if result > 0 || (result == -ECANCELED && wasPausing && cancellation != .shutdown) {
      // Ended without an error, or paused: re-arm when the consumer wants more.
      if unsafe waiter != nil || queue.count <= pool.maximumQueuedPerConnection / 2 {
        if loop.ownsLoopState { arm(loop) }
      }
    } else if result == 0 {
      finish(with: .end)
    } else if result == -ENOBUFS {
      unsafe waitingForBuffers = true
      pool.waitForBuffers(self, loop: loop)
    } else if result == -ECANCELED || result == -EINTR {
      let kind: IOError.Kind = cancellation == .shutdown ? .reactorShutDown : .cancelled
      unsafe finish(with: .failure(IOError(kind, operation: .recv, address: socket?.peer)))
    } else {
      let error = IOError(.system(Errno(rawValue: -result)), operation: .recv)
      unsafe finish(with: .failure(socket?.naming(error) ?? error))
    }
  }

  /// The pool has buffers again (called by the pool, loop thread).
  func buffersAvailable(loop: EventLoop) {
    unsafe waitingForBuffers = false
    guard unsafe !terminated, unsafe end == nil, unsafe armed == nil, unsafe !pausing else {
      return
    }
    arm(loop)
  }

  /// The pool can no longer re-arm this receiver: the reactor shuts down.
  func poolUnavailable() {
    unsafe waitingForBuffers = false
    unsafe finish(
      with: .failure(IOError(.reactorShutDown, operation: .recv, address: socket?.peer)))
  }

  /// The socket was closed: cancel the multishot, give every queued buffer
  /// back, and fail a waiting consumer with `EBADF`. Late completions only
  /// return their buffers.
  func terminate(loop: EventLoop?) {
    guard unsafe !terminated else { return }
    unsafe terminated = true
    if let loop {
      if let armed = unsafe armed { loop.cancelOnLoop(armed, reason: .task) }
      if unsafe waitingForBuffers { pool.stopWaiting(self, loop: loop) }
      while let chunk = unsafe queue.popFirst() { pool.recycle(chunk.id) }
    }
    unsafe waitingForBuffers = false
    unsafe end = unsafe .failure(
      IOError(.system(.badFileDescriptor), operation: .recv, address: socket?.peer))
    if loop == nil { unsafe waiterDeadline = nil }  // The loop's timers are gone.
    if let waiter = takeWaiter() {
      unsafe waiter.resume(returning: end!)
    }
    unsafe socket = nil
  }

  private func deliver(_ event: Event) {
    if let waiter = takeWaiter() {
      waiter.resume(returning: event)
    } else if case .chunk(let chunk) = event {
      unsafe queue.append(chunk)
    }
  }

  private func finish(with event: Event) {
    if unsafe end == nil { unsafe end = event }
    guard unsafe queue.isEmpty, let waiter = takeWaiter() else { return }
    let delivered = unsafe end!
    if case .failure = delivered { unsafe end = .end }
    waiter.resume(returning: delivered)
  }
}

/// A FIFO of received chunks (a ring buffer that grows).
struct ChunkQueue {
  private var storage: [ReceivedChunk] = []
  private var head = 0

  var count: Int { storage.count - head }
  var isEmpty: Bool { head == storage.count }

  mutating func append(_ chunk: ReceivedChunk) {
    storage.append(chunk)
  }

  mutating func popFirst() -> ReceivedChunk? {
    guard head < storage.count else { return nil }
    let chunk = storage[head]
    head += 1
    if head == storage.count {
      storage.removeAll(keepingCapacity: true)
      head = 0
    } else if head >= 64, head * 2 >= storage.count {
      storage.removeFirst(head)
      head = 0
    }
    return chunk
  }
}
