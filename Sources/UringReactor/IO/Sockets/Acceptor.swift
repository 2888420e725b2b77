import Glibc
import SystemPackage
import Uring

/// One multishot accept (`IORING_OP_ACCEPT` with `IORING_ACCEPT_MULTISHOT`)
/// on a listening socket, and the connections it accepted that the consumer
/// has not taken yet.
///
/// Loop-confined (it is the operation's `CompletionHandler`); its state
/// skips Swift's dynamic exclusivity checks (`@exclusivity(unchecked)`). The in-flight
/// slot retains it and the listening socket (rule 1).
///
/// - Each CQE with `IORING_CQE_F_MORE` carries one accepted descriptor. A
///   final CQE without an error (the kernel ended the multishot) re-arms it;
///   `ECONNABORTED` too. Other errors (`EMFILE`...) are thrown once by the
///   consumer's next call, which re-arms (no busy loop: only the consumer
///   retries).
/// - Backpressure: at `maximumPending` queued connections the multishot is
///   cancelled; the kernel's listen backlog holds the rest. It is re-armed
///   when the consumer has taken half.
/// - Rule 4: once terminated (iteration ended, listener closed, reactor shut
///   down), queued descriptors and descriptors in late CQEs are closed.
/// - Deadline: a wait with an ``IODeadline`` ends with `.timedOut` when it
///   passes (a `.continuous` timer entry of the loop, see
///   ``WaitDeadlineHandler``); the multishot keeps running and connections
///   accepted later are queued for the next call.
final class Acceptor: CompletionHandler, WaitDeadlineHandler, @unchecked Sendable {
  private let listener: SocketHandle
  private let maximumPending: Int
  @exclusivity(unchecked) private var armed: UInt64?
  @exclusivity(unchecked) private var pausing = false
  @exclusivity(unchecked) private var queue: [CInt] = []
  @exclusivity(unchecked) private var queueHead = 0
  @exclusivity(unchecked) private var pendingError: IOError?
  @exclusivity(unchecked) private var waiter: LoopContinuation<Result<CInt?, IOError>>?
  @exclusivity(unchecked) private var waiterGeneration: UInt64 = 0
  /// The waiter's deadline in the loop's timer queues, if it has one.
  @exclusivity(unchecked) private var waiterDeadline: WaitTimer?
  @exclusivity(unchecked) private var terminated = false
  @exclusivity(unchecked) private var registered = false

  init(listener: SocketHandle, maximumPending: Int) {
    self.listener = listener
    self.maximumPending = max(1, maximumPending)
  }

  deinit {
    // Safety net: nothing can take these any more.
    for fd in unsafe queue[queueHead...] { Glibc.close(fd) }
  }

  /// Connections accepted and not taken yet.
  var queuedCount: Int { unsafe queue.count - queueHead }

  /// The next accepted descriptor, `nil` once terminated. Loop thread.
  ///
  /// With `deadline`: a wait that outlasts it throws
  /// ``IOError/Kind/timedOut``; the multishot stays armed and connections
  /// accepted meanwhile are queued for the next call. A queued connection
  /// is returned even past the deadline; with none queued, a deadline
  /// already past throws at once (a cancelled task's call throws
  /// `.cancelled` first) and arms nothing.
  nonisolated(nonsending) func next(_ loop: EventLoop, deadline: OperationDeadline?)
    async throws(IOError) -> CInt?
  {
    if unsafe !registered, unsafe !terminated {
      unsafe registered = true
      unsafe listener.acceptors.append(self)
    }
    if let fd = popQueued() {
      resumeIfCaughtUp(loop)
      return fd
    }
    if let error = unsafe pendingError {
      unsafe pendingError = nil
      throw error
    }
    if unsafe terminated { return nil }
    guard unsafe waiter == nil else {
      throw IOError(.system(.resourceBusy), operation: .accept, address: listener.peer)
    }
    guard loop.ownsLoopState, loop.lifecycle == .running else {
      terminate(loop: loop.ownsLoopState ? loop : nil)
      throw IOError(.reactorShutDown, operation: .accept, address: listener.peer)
    }
    if let deadline, deadline.hasPassed {
      throw error(Task.isCancelled ? .cancelled : .timedOut)
    }
    if unsafe armed == nil, unsafe !pausing { arm(loop) }
    if unsafe terminated {
      throw IOError(.reactorShutDown, operation: .accept, address: listener.peer)
    }
    unsafe waiterGeneration &+= 1
    let generation = unsafe waiterGeneration
    let reactor = listener.reactor
    let result = await loop.suspend {
      (continuation: LoopContinuation<Result<CInt?, IOError>>) in
      if Task.isCancelled {
        continuation.resume(returning: .failure(self.error(.cancelled)))
        return
      }
      unsafe self.waiter = continuation
      if let deadline { unsafe self.waiterDeadline = loop.addWaitDeadline(self, deadline) }
    } onCancel: {
      reactor.runOnLoop { _ in self.cancelWaiter(generation) }
    }
    return try result.get()
  }

  private func error(_ kind: IOError.Kind) -> IOError {
    IOError(kind, operation: .accept, address: listener.peer)
  }

  private func cancelWaiter(_ generation: UInt64) {
    guard unsafe generation == waiterGeneration, let waiter = takeWaiter() else { return }
    waiter.resume(returning: .failure(error(.cancelled)))
  }

  /// The waiter's deadline passed: it throws `.timedOut`; the multishot
  /// keeps running (later connections are queued). Loop thread.
  func deadlinePassed(_ timer: WaitTimer) {
    guard unsafe timer == waiterDeadline else { return }
    unsafe waiterDeadline = nil
    guard let waiter = takeWaiter() else { return }
    waiter.resume(returning: .failure(error(.timedOut)))
  }

  /// Takes the waiting consumer, if any, and removes its deadline.
  private func takeWaiter() -> LoopContinuation<Result<CInt?, IOError>>? {
    guard let waiter = unsafe waiter else { return nil }
    unsafe self.waiter = nil
    if let timer = unsafe waiterDeadline {
      unsafe waiterDeadline = nil
      listener.loop.removeWaitDeadline(timer)
    }
    return waiter
  }

  private func popQueued() -> CInt? {
    guard unsafe queueHead < queue.count else { return nil }
    let fd = unsafe queue[queueHead]
    unsafe queueHead += 1
    if unsafe queueHead == queue.count {
      unsafe queue.removeAll(keepingCapacity: true)
      unsafe queueHead = 0
    }
    return fd
  }

  private func arm(_ loop: EventLoop) {
    guard let fd = listener.descriptor else {
      terminate(loop: loop)
      return
    }
    unsafe armed = unsafe loop.start(
      .accept(
        fd: fd, address: nil, length: nil, flags: CInt(SOCK_CLOEXEC.rawValue), multishot: true),
      handler: self, retaining: (listener, nil))
    if unsafe armed == nil {
      unsafe pendingError = error(.reactorShutDown)
      terminate(loop: loop)
    }
  }

  private func resumeIfCaughtUp(_ loop: EventLoop) {
    guard unsafe armed == nil, unsafe !pausing, unsafe !terminated,
      queuedCount <= maximumPending / 2,
      loop.ownsLoopState, loop.lifecycle == .running
    else { return }
    arm(loop)
  }

  func complete(_ completion: Completion, isFinal: Bool, cancellation: CancellationReason?) {
    let result = completion.result
    if result >= 0 {
      if unsafe terminated {
        Glibc.close(result)  // Rule 4: nobody will take it.
      } else if let waiter = takeWaiter() {
        waiter.resume(returning: .success(result))
      } else {
        unsafe queue.append(result)
      }
    }
    if !isFinal {
      if queuedCount >= maximumPending, unsafe !pausing, let armed = unsafe armed {
        unsafe pausing = true
        listener.loop.cancelOnLoop(armed, reason: .task)
      }
      return
    }
    unsafe armed = nil
    let wasPausing = unsafe pausing
    unsafe pausing = false
    guard unsafe !terminated else { return }
    let loop = listener.loop
    if result >= 0 || result == -ECONNABORTED
      || (result == -ECANCELED && wasPausing && cancellation != .shutdown)
    {
      if unsafe waiter != nil || queuedCount <= maximumPending / 2 {
        if loop.ownsLoopState { arm(loop) } else { terminate(loop: nil) }
      }
    } else if (result == -ECANCELED || result == -EINTR) && cancellation == .shutdown {
      unsafe pendingError = error(.reactorShutDown)
      terminate(loop: loop)
    } else if result == -ECANCELED || result == -EINTR {
      unsafe pendingError = error(.cancelled)
      fail()
    } else {
      unsafe pendingError = error(.system(Errno(rawValue: -result)))
      fail()
    }
  }

  /// Hands a pending error to a waiting consumer.
  private func fail() {
    guard unsafe waiter != nil, let error = unsafe pendingError, let waiter = takeWaiter() else {
      return
    }
    unsafe pendingError = nil
    waiter.resume(returning: .failure(error))
  }

  /// Ends this accept: cancels the multishot, closes every queued
  /// descriptor (rule 4), resumes a waiting consumer with the pending error
  /// or `nil`. Loop thread (`loop` is `nil` after the reactor terminated).
  func terminate(loop: EventLoop?) {
    guard unsafe !terminated else { return }
    unsafe terminated = true
    if let loop, let armed = unsafe armed { loop.cancelOnLoop(armed, reason: .task) }
    while let fd = popQueued() { Glibc.close(fd) }
    unsafe listener.acceptors.removeAll { $0 === self }
    if loop == nil { unsafe waiterDeadline = nil }  // The loop's timers are gone.
    if let waiter = takeWaiter() {
      if let error = unsafe pendingError {
        unsafe pendingError = nil
        waiter.resume(returning: .failure(error))
      } else {
        waiter.resume(returning: .success(nil))
      }
    }
  }
}
