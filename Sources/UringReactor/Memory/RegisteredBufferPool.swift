import Glibc
import SystemPackage
import Uring

/// A set of fixed buffers registered with one reactor's ring
/// (`IORING_REGISTER_BUFFERS`), lent out one at a time as ``RegisteredBuffer``
/// leases, which ``File/readFixed(into:at:)`` and ``File/writeFixed(from:at:)``
/// (`IORING_OP_READ_FIXED`/`IORING_OP_WRITE_FIXED`) require: the type of the
/// lease is the proof that its memory is registered, with this ring, right now.
///
/// - One per ring: the kernel keeps a single registered buffer set per ring.
///   ``register(count:bufferSize:on:)`` throws
///   ``RegisteredBufferError/Kind/alreadyRegistered`` while another pool is
///   registered with the same reactor; ``unregister()`` it first.
/// - Layout: `count` buffers of `bufferSize` bytes, each starting on a page
///   boundary, in one anonymous `mmap`ping owned by the pool. The memory lives
///   as long as the pool, and every fixed operation retains the pool in the
///   reactor's in-flight slot until its final CQE (rule 1).
/// - Unregistering: refused with ``RegisteredBufferError/Kind/buffersInUse(lent:)``
///   while any buffer is lent. A buffer in flight is always lent (the operation
///   holds its lease), so buffers can never be unregistered under the kernel.
///   Dropping the last reference to a registered pool unregisters it from a
///   job on the loop thread, soon after; call ``unregister()`` to know when.
///   Shutting the reactor down unregisters everything with its ring.
/// - Thread-safety: `Sendable`; lending and returning take a lock;
///   registration happens on the reactor's loop thread.
public final class RegisteredBufferPool: Sendable {
  /// The reactor whose ring the buffers are registered with.
  public let reactor: Reactor
  /// How many buffers the pool holds.
  public let count: Int
  /// The size of each buffer in bytes.
  public let bufferSize: Int
  let storage: RegisteredBufferStorage
  private let state: Locked<PoolState>

  private init(reactor: Reactor, storage: RegisteredBufferStorage) {
    self.reactor = reactor
    self.storage = storage
    self.count = storage.count
    self.bufferSize = storage.size
    // Lent from the end of the stack: index 0 first.
    self.state = Locked(PoolState(free: (0..<storage.count).reversed().map { UInt16($0) }))
  }

  deinit {
    guard state.withLock({ $0.phase == .registered }) else { return }
    // No lease and no operation holds the pool (they retain it), so no fixed
    // operation can be in flight: unregister on the loop thread. `storage`
    // stays mapped until then.
    let storage = self.storage
    let reactor = self.reactor
    Task(executorPreference: reactor) {
      await reactor.onLoop { loop throws(Never) in
        if loop.ownsLoopState { unsafe try? loop.ring!.unregisterBuffers() }
        withExtendedLifetime(storage) {}
      }
    }
  }

  /// Maps `count` buffers of `bufferSize` bytes and registers them with
  /// `reactor`'s ring (`io_uring_register_buffers`, on the loop thread).
  ///
  /// Registration pins the pages; they count against `RLIMIT_MEMLOCK` unless
  /// the process has `CAP_IPC_LOCK` (`RingRegistrationError.Cause.lockedMemoryLimit`).
  ///
  /// Thread-safety: call from any task. Cancellation: registration is quick
  /// and is not interrupted.
  ///
  /// - Throws: ``RegisteredBufferError/Kind/alreadyRegistered`` when the ring
  ///   has a registered set; ``RegisteredBufferError/Kind/invalidLayout(count:bufferSize:)``,
  ///   ``RegisteredBufferError/Kind/reactorShutDown``,
  ///   ``RegisteredBufferError/Kind/allocationFailed(_:)``,
  ///   ``RegisteredBufferError/Kind/kernel(_:)``.
  public static func register(
    count: Int, bufferSize: Int, on reactor: Reactor
  ) async throws(RegisteredBufferError) -> RegisteredBufferPool {
    guard (1...Ring.maximumRegisteredBuffers).contains(count),
      (1...Ring.maximumRegisteredBufferSize).contains(bufferSize)
    else {
      throw RegisteredBufferError(.invalidLayout(count: count, bufferSize: bufferSize))
    }
    let storage = try RegisteredBufferStorage(count: count, size: bufferSize)
    let failure = await reactor.onLoop { loop throws(Never) -> RegisteredBufferError? in
      guard loop.ownsLoopState, loop.lifecycle == .running else {
        return RegisteredBufferError(.reactorShutDown)
      }
      do throws(RingRegistrationError) {
        // SAFETY: the iovecs describe `storage`'s mapping, which stays mapped
        // until the pool (which keeps `storage`) is unregistered; see `deinit`.
        unsafe try loop.ring!.registerBuffers(storage.iovecs)
        return nil
      } catch {
        return RegisteredBufferError(
          error.cause == .alreadyRegistered ? .alreadyRegistered : .kernel(error))
      }
    }
    if let failure { throw failure }
    return RegisteredBufferPool(reactor: reactor, storage: storage)
  }

  /// Whether the buffers are registered (until ``unregister()``).
  public var isRegistered: Bool { state.withLock { $0.phase == .registered } }

  /// How many buffers are free to lend right now.
  public var availableCount: Int { state.withLock { $0.free.count } }

  /// How many buffers are lent out (including those in flight).
  public var lentCount: Int { state.withLock { $0.lent } }

  /// Lends a free buffer, suspending until one is released if all are lent.
  /// Waiters are served in the order they arrived.
  ///
  /// The lease's `count` is 0; its bytes are whatever its last holder left.
  ///
  /// Cancellation: a cancelled waiter stops waiting and throws
  /// ``RegisteredBufferError/Kind/cancelled`` (a buffer released meanwhile
  /// goes to the next waiter or back to the pool).
  ///
  /// - Throws: ``RegisteredBufferError/Kind/notRegistered`` once the pool is
  ///   unregistered; ``RegisteredBufferError/Kind/cancelled``.
  public func next() async throws(RegisteredBufferError) -> RegisteredBuffer {
    let attempt = try state.withLock { state throws(RegisteredBufferError) -> Attempt in
      guard state.phase == .registered else { throw RegisteredBufferError(.notRegistered) }
      if let index = state.free.popLast() {
        state.lent += 1
        return .lent(index)
      }
      let id = state.nextWaiterID
      state.nextWaiterID += 1
      state.waiters.append(PoolState.Waiter(id: id))
      return .wait(id)
    }
    let waiterID: UInt64
    switch attempt {
    case .lent(let index): return RegisteredBuffer(pool: self, index: index)
    case .wait(let id): waiterID = id
    }
    let index: UInt16? = await withTaskCancellationHandler {
      unsafe await withUnsafeContinuation { (continuation: UnsafeContinuation<UInt16?, Never>) in
        @safe
        enum Now {
          // @safe: each continuation it carries is resumed exactly once.
          case wait([UnsafeContinuation<Void, Never>])
          case resume(UInt16?)
        }
        let now = state.withLock { state -> Now in
          guard let position = state.waiters.firstIndex(where: { $0.id == waiterID }) else {
            preconditionFailure("a pool waiter vanished before suspending")
          }
          if state.waiters[position].cancelled {
            state.waiters.remove(at: position)
            return .resume(nil)
          }
          // A buffer released between the first attempt and now.
          if let index = state.free.popLast() {
            state.waiters.remove(at: position)
            state.lent += 1
            return .resume(index)
          }
          unsafe state.waiters[position].continuation = unsafe continuation
          return unsafe .wait(state.takeSatisfiedWatchers())
        }
        switch now {
        case .resume(let index): unsafe continuation.resume(returning: index)
        case .wait(let watchers):
          for index in unsafe watchers.indices { unsafe watchers[index].resume() }
        }
      }
    } onCancel: {
      let continuation = unsafe state.withLock { state -> UnsafeContinuation<UInt16?, Never>? in
        // Not found: it was served already; the lease is its.
        guard let position = state.waiters.firstIndex(where: { $0.id == waiterID }) else {
          return nil
        }
        guard let continuation = unsafe state.waiters[position].continuation else {
          // Not suspended yet: it sees the flag when it does.
          state.waiters[position].cancelled = true
          return nil
        }
        state.waiters.remove(at: position)
        return unsafe continuation
      }
      unsafe continuation?.resume(returning: nil)
    }
    guard let index else { throw RegisteredBufferError(.cancelled) }
    return RegisteredBuffer(pool: self, index: index)
  }

  /// Lends a free buffer if there is one, without waiting.
  ///
  /// - Throws: ``RegisteredBufferError/Kind/notRegistered`` once unregistered.
  public func tryNext() throws(RegisteredBufferError) -> RegisteredBuffer? {
    let index = try state.withLock { state throws(RegisteredBufferError) -> UInt16? in
      guard state.phase == .registered else { throw RegisteredBufferError(.notRegistered) }
      guard let index = state.free.popLast() else { return nil }
      state.lent += 1
      return index
    }
    return index.map { RegisteredBuffer(pool: self, index: $0) }
  }

  /// Unregisters the buffers from the ring (`io_uring_unregister_buffers`, on
  /// the loop thread), after which another pool may be registered with it.
  ///
  /// Refused while any buffer is lent, in flight or not: release every
  /// ``RegisteredBuffer`` first. Once unregistered (even if the kernel then
  /// refuses, which it does not for a registered set), the pool lends nothing.
  /// If the reactor has shut down, its ring took the registration with it and
  /// this only marks the pool unregistered.
  ///
  /// Thread-safety: call from any task. Cancellation: not interrupted.
  ///
  /// - Throws: ``RegisteredBufferError/Kind/buffersInUse(lent:)``,
  ///   ``RegisteredBufferError/Kind/notRegistered`` (already unregistered),
  ///   ``RegisteredBufferError/Kind/kernel(_:)``.
  public func unregister() async throws(RegisteredBufferError) {
    try state.withLock { state throws(RegisteredBufferError) in
      guard state.phase == .registered else { throw RegisteredBufferError(.notRegistered) }
      guard state.lent == 0 else { throw RegisteredBufferError(.buffersInUse(lent: state.lent)) }
      // No lease exists and none can be taken from now on.
      state.phase = .unregistered
    }
    let storage = self.storage
    let failure = await reactor.onLoop { loop throws(Never) -> RingRegistrationError? in
      defer { withExtendedLifetime(storage) {} }
      guard loop.ownsLoopState else { return nil }
      do throws(RingRegistrationError) {
        unsafe try loop.ring!.unregisterBuffers()
        return nil
      } catch {
        return error.cause == .notRegistered ? nil : error
      }
    }
    if let failure { throw RegisteredBufferError(.kernel(failure)) }
  }

  /// Returns a released lease's buffer: to the first suspended waiter, or to
  /// the free list.
  func giveBack(_ index: UInt16) {
    let waiter = unsafe state.withLock { state -> UnsafeContinuation<UInt16?, Never>? in
      if let position = state.waiters.firstIndex(where: { unsafe $0.continuation != nil }) {
        return unsafe state.waiters.remove(at: position).continuation
      }
      state.free.append(index)
      state.lent -= 1
      return nil
    }
    unsafe waiter?.resume(returning: index)
  }

  /// The memory of buffer `index`.
  func region(_ index: UInt16) -> UnsafeMutableRawBufferPointer {
    unsafe storage.region(Int(index))
  }

  /// Returns once `count` tasks are suspended in ``next()`` (for tests: no sleeping).
  func waitUntilWaiting(_ count: Int) async {
    unsafe await withUnsafeContinuation { (continuation: UnsafeContinuation<Void, Never>) in
      let now = state.withLock { state -> Bool in
        if state.suspendedWaiters >= count { return true }
        unsafe state.watchers.append((count, continuation))
        return false
      }
      if now { unsafe continuation.resume() }
    }
  }

  private enum Attempt {
    case lent(UInt16)
    case wait(UInt64)
  }
}

/// The pool's lending state, under its lock.
@safe
private struct PoolState {
  // @safe: each waiter's continuation is resumed exactly once, under the pool's lock.
  enum Phase { case registered, unregistered }
  @safe
  struct Waiter {
    // @safe: its continuation is resumed exactly once, under the pool's lock.
    let id: UInt64
    /// Set once the waiting task has suspended.
    var continuation: UnsafeContinuation<UInt16?, Never>?
    /// Cancelled before it suspended.
    var cancelled = false

    init(id: UInt64) { self.id = id }
  }

  var phase = Phase.registered
  var free: [UInt16]
  var lent = 0
  /// FIFO.
  var waiters: [Waiter] = []
  var nextWaiterID: UInt64 = 0
  /// Test hooks waiting for a number of suspended waiters.
  var watchers: [(Int, UnsafeContinuation<Void, Never>)] = unsafe []

  init(free: [UInt16]) { self.free = free }

  var suspendedWaiters: Int { waiters.count(where: { unsafe $0.continuation != nil }) }

  mutating func takeSatisfiedWatchers() -> [UnsafeContinuation<Void, Never>] {
    guard unsafe !watchers.isEmpty else { return unsafe [] }
    let suspended = suspendedWaiters
    var ready: [UnsafeContinuation<Void, Never>] = unsafe []
    unsafe watchers.removeAll { count, continuation in
      guard suspended >= count else { return false }
      unsafe ready.append(continuation)
      return true
    }
    return unsafe ready
  }
}
