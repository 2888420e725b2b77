import Glibc
import Uring

/// What a completed operation reports to its waiter.
struct OperationOutcome: Sendable {
  /// The CQE's `res`, or a synthetic negated errno when it never reached the kernel.
  var result: Int32
  /// The CQE's flags.
  var flags: UInt32
  /// Why the operation was cancelled, if it was.
  var cancellation: CancellationReason?
  /// Not an outcome: the operation is still in flight, and its task, which
  /// waited without a cancellation handler (``CancellationRegistration/lazy``),
  /// must now register one and wait again.
  var mustRegister = false
}

/// When a cancellable operation's task registers its cancellation handler.
///
/// Registering one (`withTaskCancellationHandler`) takes the task's status
/// lock twice and adds several executor checks: about a third of the cost of
/// an operation that completes at once.
enum CancellationRegistration {
  /// Before the SQE is prepared: for operations that usually wait (sockets,
  /// accept, timeouts).
  case eager
  /// Only if the operation is still in flight once the submission that
  /// carried it has returned: for operations that usually complete inside it
  /// (reads of cached file data; buffered writes on ext4 go to the kernel's
  /// worker pool, so writes stay eager). Until then the loop does not
  /// sleep, so a cancellation can never be missed: the task is resumed to
  /// register its handler (which runs at once if the task was cancelled
  /// meanwhile) and waits again. Costs one extra resumption when the
  /// operation does wait.
  case lazy
}

/// Who asked to cancel an operation.
enum CancellationReason: Sendable {
  /// Its task was cancelled.
  case task
  /// The reactor is shutting down.
  case shutdown
  /// Its deadline passed.
  case deadline
}

/// Receives every CQE of a multishot or bridged operation, on the loop thread.
protocol CompletionHandler: AnyObject {
  /// Called for each CQE. `isFinal` is `true` for the last one (no
  /// `IORING_CQE_F_MORE`); the slot is released right after. `cancellation`
  /// says why the operation was cancelled, if it was (on the final CQE,
  /// ``CancellationReason/deadline`` when its linked timeout cancelled it).
  func complete(_ completion: Completion, isFinal: Bool, cancellation: CancellationReason?)
}

/// Who waits for an in-flight operation's completion.
enum Waiter {
  /// A suspended task, resumed once with the final completion.
  case task(LoopContinuation<OperationOutcome>)
  /// A suspended task with no cancellation handler yet
  /// (``CancellationRegistration/lazy``): resumed with the final completion,
  /// or, if the operation is still in flight after its submission, with
  /// ``OperationOutcome/mustRegister``.
  case unregisteredTask(LoopContinuation<OperationOutcome>)
  /// No waiter yet: its task was resumed to register a cancellation handler
  /// and has not waited again, or the operation was submitted inline
  /// (`EventLoop.completeInline`) and its task has not suspended.
  case registering
  /// The final completion arrived while its task was registering: the task
  /// takes it (and frees the slot) when it waits again.
  case finished(OperationOutcome)
  /// A handler called for every completion.
  case handler(any CompletionHandler)
  /// The loop's own eventfd read.
  case wakeup
  /// Nobody: an internal request (cancel, close of an abandoned descriptor).
  case none
}

/// One in-flight operation and everything that must outlive it in the kernel.
struct InFlight {
  var opcode: Opcode
  var waiter: Waiter
  /// Strong references to what the kernel may touch (memory, descriptor owners):
  /// rule 1. Released only when the slot is, on the final CQE: rule 2.
  var retained: (AnyObject?, AnyObject?)
  /// The op creates a descriptor (open, accept, socket) that must be closed if
  /// its waiter gave up: rule 4.
  var createsDescriptor: Bool
  /// Armed: its SQE was prepared. Before that, a cancellation only marks it.
  var armed: Bool
  var cancellation: CancellationReason?
  /// Submitted with an `IORING_OP_LINK_TIMEOUT` (a deadline): `-ECANCELED`
  /// with no other reason recorded means the deadline passed.
  var linkedTimeout = false
}

extension InFlight {
  /// Why its final CQE ended the operation, if it was cancelled: the
  /// recorded reason, else ``CancellationReason/deadline`` when its linked
  /// `IORING_OP_LINK_TIMEOUT` cancelled it (`-ECANCELED`, or `-EINTR`, with
  /// no other reason recorded).
  func cancellation(of completion: Completion) -> CancellationReason? {
    if cancellation == nil, linkedTimeout,
      completion.result == -ECANCELED || completion.result == -EINTR
    {
      return .deadline
    }
    return cancellation
  }
}

/// The slab of in-flight operations. `user_data` is `generation << 32 | index`,
/// so a stale cancellation request for a reused slot finds a different
/// generation and is ignored.
///
/// Loop thread only. Growth doubles the slot array; slots are never moved
/// while a caller holds one (callers work through indices).
struct InFlightTable {
  private struct Slot {
    var generation: UInt32 = 1
    var nextFree: Int32 = -1
    var entry: InFlight?
  }

  private var slots: [Slot] = []
  private var freeHead: Int32 = -1
  /// Occupied slots.
  private(set) var count = 0
  /// Entries ever stored: operations submitted. Those completed (final CQE)
  /// are `inserted - count`.
  private(set) var inserted = 0

  init(capacity: Int) {
    slots.reserveCapacity(capacity)
  }

  @inline(__always)
  private static func split(_ userData: UInt64) -> (index: Int, generation: UInt32) {
    (Int(truncatingIfNeeded: userData & 0xFFFF_FFFF), UInt32(truncatingIfNeeded: userData >> 32))
  }

  /// Stores `entry` and returns its `user_data`.
  mutating func insert(_ entry: consuming InFlight) -> UInt64 {
    let index: Int
    if freeHead >= 0 {
      index = Int(freeHead)
      freeHead = slots[index].nextFree
    } else {
      index = slots.count
      precondition(index < Int(UInt32.max), "in-flight table full")
      slots.append(Slot())
    }
    slots[index].entry = entry
    count += 1
    inserted &+= 1
    return UInt64(slots[index].generation) << 32 | UInt64(index)
  }

  /// Whether `userData` names an occupied slot.
  func contains(_ userData: UInt64) -> Bool {
    let (index, generation) = Self.split(userData)
    return index < slots.count && slots[index].generation == generation
      && slots[index].entry != nil
  }

  /// Reads and modifies the entry for `userData`, if it is still in flight.
  @inline(__always)
  mutating func withEntry<R>(_ userData: UInt64, _ body: (inout InFlight) -> R) -> R? {
    let (index, generation) = Self.split(userData)
    guard index < slots.count, slots[index].generation == generation,
      slots[index].entry != nil
    else { return nil }
    return body(&slots[index].entry!)
  }

  /// Frees the slot for `userData` and returns its entry (with its retained
  /// references, which the caller drops after resuming the waiter).
  mutating func remove(_ userData: UInt64) -> InFlight? {
    let (index, generation) = Self.split(userData)
    guard index < slots.count, slots[index].generation == generation,
      let entry = slots[index].entry.take()
    else { return nil }
    // Generation 0 is never used, so that user_data 0 never names a slot.
    slots[index].generation =
      slots[index].generation == UInt32.max ? 1 : slots[index].generation + 1
    slots[index].nextFree = freeHead
    freeHead = Int32(index)
    count -= 1
    return entry
  }

  /// The `user_data` of every occupied slot.
  func occupied() -> [UInt64] {
    var result: [UInt64] = []
    result.reserveCapacity(count)
    for index in slots.indices where slots[index].entry != nil {
      result.append(UInt64(slots[index].generation) << 32 | UInt64(index))
    }
    return result
  }
}
