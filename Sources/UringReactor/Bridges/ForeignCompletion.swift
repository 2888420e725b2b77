import SystemPackage

/// One transfer of lent memory to a foreign party (a C library, a device
/// driver's user-space side) that works on it from its own thread and reports
/// the end of the transfer later: the bridge between such a party and a
/// waiting task.
///
/// You do not create one: ``Reactor/awaitForeignCompletion(lending:access:start:)``
/// and ``Reactor/awaitEventFD(lending:access:start:finish:)`` do, and hand you
/// a ``Token`` to give to the foreign API.
///
/// - Ownership: it holds a strong reference to the lent memory, and keeps the
///   memory's kernel access open (``BackingMemory/beginKernelAccess(_:)``, so
///   conflicting user access is refused), from before the foreign side sees
///   the pointer until the foreign side reports that it is done: the callback
///   fires, or the eventfd becomes readable. Not until the waiter stops
///   waiting, and never earlier. The foreign side owns one retain of the
///   completion itself (the token's `userArg`), released exactly once, when
///   its callback fires.
/// - Thread-safety: `Sendable`. The end of the transfer may be reported from
///   any thread (the foreign one, or the reactor's loop); the state is behind
///   a pthread mutex.
/// - Cancellation: a cancelled waiter keeps waiting for the foreign side, then
///   throws ``ForeignCompletionError/Kind/cancelled``. Nothing is freed early.
@safe
public final class ForeignCompletion: Sendable {
  // @safe: the lent memory is retained in its state until the foreign side reports its end; the
  // state is behind a pthread mutex.
  /// How the foreign side's use of the memory ended.
  enum Outcome: Sendable {
    /// It reported this value (a result or an eventfd count) and no longer
    /// uses the memory.
    case completed(Int)
    /// Its end can never be observed: the memory was abandoned.
    case unobservable(Errno)
  }

  @safe
  private struct State {
    // @safe: the memory or handle it holds is owned here and released once, under the owner's lock.
    /// The lent memory, until the foreign side is done with it.
    var memory: (any BackingMemory)?
    /// The foreign side reported its end (set before `outcome`, which is
    /// published only once the memory has been let go).
    var finishing = false
    var outcome: Outcome?
    var waiter: UnsafeContinuation<Outcome, Never>?
    /// The waiting task was cancelled.
    var cancelled = false
    /// The reactor shut down while the transfer was in flight.
    var shutDown = false
  }

  let access: KernelAccess
  // SAFETY: the memory's region, stable for the memory's lifetime (a
  // `BackingMemory` requirement), which `state.memory` extends until the
  // foreign side is done. Handed out only through tokens and `start`.
  nonisolated(unsafe) let region: UnsafeMutableRawBufferPointer
  private let state: Locked<State>

  /// Completions alive right now (tests check that none leaks).
  static let live = Locked(0)

  /// Lends `memory` for `access` on behalf of the next transfer.
  private init(lending memory: some BackingMemory, access: KernelAccess) throws(MemoryAccessError) {
    try memory.beginKernelAccess(access)
    self.access = access
    unsafe self.region = unsafe memory.unsafeRegion
    self.state = unsafe Locked(State(memory: memory))
    Self.live.withLock { $0 += 1 }
  }

  deinit {
    Self.live.withLock { $0 -= 1 }
  }

  /// Lends `memory` for a transfer waited for on `reactor`. Refused (nothing
  /// lent) when the reactor no longer takes operations, when the task is
  /// already cancelled, and when the memory is busy.
  static func lend(
    _ memory: some BackingMemory, _ access: KernelAccess, on reactor: Reactor
  ) throws(ForeignCompletionError) -> ForeignCompletion {
    guard reactor.loop.lifecycle == .running else { throw ForeignCompletionError(.reactorShutDown) }
    if Task.isCancelled { throw ForeignCompletionError(.cancelled) }
    do {
      return try ForeignCompletion(lending: memory, access: access)
    } catch {
      throw ForeignCompletionError(.memoryBusy(error))
    }
  }

  // MARK: Starting

  /// What `start` hands to the foreign API: the memory and a callback that
  /// reports the end of the transfer.
  ///
  /// Valid only while `start` runs: give `userArg` to exactly one foreign
  /// registration that will call back exactly once.
  @unsafe
  public struct Token {
    // @unsafe: it hands the foreign side a raw region and an unmanaged retain, valid only while
    // `start` runs.
    /// The lent memory. The foreign side may read it, and write it if it was
    /// lent for ``KernelAccess/write``, until it calls back.
    public let region: UnsafeMutableRawBufferPointer
    /// The `user_arg` to register along with ``callback``: one retain of the
    /// completion, owned by the foreign side from the moment `start` returns
    /// without throwing, released when the callback fires.
    public let userArg: UnsafeMutableRawPointer

    /// A C function, `void (*)(void *user_arg, long result)`, that reports
    /// the end of the transfer: `result` is a byte count or a negated errno.
    /// It must be called exactly once, with ``userArg``, from any thread,
    /// once the foreign side no longer touches ``region``. For another
    /// signature, write your own `@convention(c)` trampoline that calls
    /// ``ForeignCompletion/unsafeComplete(userArg:result:)``.
    public var callback: @convention(c) (UnsafeMutableRawPointer?, Int) -> Void {
      { userArg, result in
        // SAFETY: the foreign side passes back the `userArg` of a token it
        // was given, once (the contract of `callback`).
        unsafe ForeignCompletion.unsafeComplete(userArg: userArg, result: result)
      }
    }
  }

  /// Reports the end of a transfer from a foreign callback: the memory's
  /// lending ends, the completion's reference to it and the foreign side's
  /// retain of the completion are dropped, and the waiter resumes.
  ///
  /// - Parameters:
  ///   - userArg: a token's ``Token/userArg``, exactly once.
  ///   - result: a byte count, or a negated errno.
  ///
  /// Unsafe: calling it twice with one `userArg`, with any other pointer, or
  /// while the foreign side still touches the memory is undefined behaviour.
  /// Callable from any thread, including from inside `start`.
  @unsafe
  public static func unsafeComplete(userArg: UnsafeMutableRawPointer?, result: Int) {
    guard let userArg = unsafe userArg else {
      preconditionFailure("foreign callback without its user_arg")
    }
    // SAFETY: `userArg` came from `Unmanaged.passRetained` in `startWithToken(_:)`;
    // taking the retained value consumes the foreign side's one retain.
    let completion = unsafe Unmanaged<ForeignCompletion>.fromOpaque(userArg).takeRetainedValue()
    completion.finished(.completed(result))
  }

  /// Runs `body` with a token whose `userArg` holds one retain of `self` for
  /// the foreign side. If `body` throws, the foreign side never took the
  /// memory: the retain is taken back and the lending ends.
  func startWithToken(_ body: (Token) throws(Errno) -> Void) throws(ForeignCompletionError) {
    let userArg = unsafe Unmanaged.passRetained(self).toOpaque()
    do {
      unsafe try body(Token(region: region, userArg: userArg))
    } catch {
      let calledBack = state.withLock { $0.finishing }
      precondition(!calledBack, "start threw after the foreign side called back")
      // SAFETY: `body` threw, so (by the contract of `start`) the foreign
      // side holds no copy of `userArg`: the retain is still ours.
      unsafe Unmanaged<ForeignCompletion>.fromOpaque(userArg).release()
      finished(.completed(-Int(error.rawValue)))
      throw ForeignCompletionError(.startFailed(error))
    }
  }

  /// Runs `body` with the lent region. If it throws, the foreign side never
  /// took the memory and the lending ends.
  func startWithRegion<T>(
    _ body: (UnsafeMutableRawBufferPointer) throws(Errno) -> T
  ) throws(ForeignCompletionError) -> T {
    do {
      return unsafe try body(region)
    } catch {
      finished(.completed(-Int(error.rawValue)))
      throw ForeignCompletionError(.startFailed(error))
    }
  }

  // MARK: Completing

  /// The foreign side is done with the memory (or will never be known to
  /// be). Exactly once, from any thread. Ends the lending (or abandons the
  /// memory), drops the reference to it, then resumes the waiter.
  func finished(_ outcome: Outcome) {
    var memory = state.withLock { state in
      precondition(!state.finishing, "a foreign transfer completed twice")
      state.finishing = true
      defer { state.memory = nil }
      return state.memory
    }
    switch outcome {
    case .completed:
      memory?.endKernelAccess(access)
    case .unobservable:
      if let memory { AbandonedMemory.keep(memory) }
    }
    // Dropped before the outcome is published: if nobody else holds the
    // memory it is freed here, on the thread that learned the transfer had
    // ended, before any waiter (even one that has not suspended yet) can see
    // the end.
    memory = nil
    let waiter = unsafe state.withLock { state in
      state.outcome = outcome
      defer { unsafe state.waiter = nil }
      return unsafe state.waiter
    }
    unsafe waiter?.resume(returning: outcome)
  }

  /// Records that the reactor shut down while the transfer was in flight.
  func markShutDown() {
    state.withLock { $0.shutDown = true }
  }

  /// Waits until the foreign side is done with the memory. A cancelled task
  /// keeps waiting: cancellation is only recorded (rule 3).
  nonisolated(nonsending) func wait() async -> Outcome {
    await withTaskCancellationHandler {
      unsafe await withUnsafeContinuation { continuation in
        let outcome = state.withLock { state -> Outcome? in
          if let outcome = state.outcome { return outcome }
          unsafe state.waiter = unsafe continuation
          return nil
        }
        if let outcome { unsafe continuation.resume(returning: outcome) }
      }
    } onCancel: {
      state.withLock { $0.cancelled = true }
    }
  }

  /// What the call returns for a transfer whose foreign side reported
  /// `result` (a byte count or a negated errno), given how the wait went.
  func value(deviceResult result: Int) throws(ForeignCompletionError) -> Int {
    let (cancelled, shutDown) = state.withLock { ($0.cancelled, $0.shutDown) }
    if cancelled { throw ForeignCompletionError(.cancelled, deviceResult: result) }
    if shutDown { throw ForeignCompletionError(.reactorShutDown, deviceResult: result) }
    if result < 0 {
      throw ForeignCompletionError(
        .device(Errno(rawValue: CInt(truncatingIfNeeded: -result))), deviceResult: result)
    }
    return result
  }
}
