import Uring

/// An operation together with the objects that own what its SQE points at,
/// built so that the two cannot disagree.
///
/// Its initialiser is private: the only ways to build one are the factories
/// below, each of which takes the pointers it hands the kernel from the owner
/// it retains (as tokio-uring builds its SQE from the owned `Read { fd, buf }`).
/// `EventLoop.perform(_:registration:)` gives the owners to the in-flight
/// slot (rule 1) and prepares the operation from the same value.
///
/// Building a raw `RingOperation` next to a separate `retaining:` pair is
/// still possible for the operations not yet converted, but under strict
/// memory safety it must be marked `unsafe` (`RingOperation` is `@unsafe`),
/// whereas an `OwnedOperation` is `@safe`: the compiler sets the two apart.
@safe
struct OwnedOperation {
  // @safe: every pointer in `operation` lies inside memory that `owners`
  // keeps alive; only the factories in this file, which derive the pointer
  // from the owner they store, can build one.
  let operation: RingOperation
  /// What the in-flight slot retains until the final CQE: the memory's owner,
  /// then the descriptor's.
  let owners: (AnyObject?, AnyObject?)

  private init(_ operation: RingOperation, owners: (AnyObject?, AnyObject?)) {
    unsafe self.operation = operation
    self.owners = owners
  }

  /// The first `count` bytes of `memory`: what a read into it or a write from
  /// it hands the kernel.
  @inline(__always)
  static func region(of memory: some SubmissionMemory, count: Int)
    -> UnsafeMutableRawBufferPointer
  {
    // SAFETY: the caller stores the result only in an operation that retains
    // `memory` (the factories below) or checks it before building one.
    unsafe UnsafeMutableRawBufferPointer(rebasing: memory.submissionRegion[..<count])
  }

  /// `IORING_OP_READ` into the first `count` bytes of `memory`, at `offset`
  /// (`nil`: the file position), on `fd`, which `descriptorOwner` keeps open.
  @inline(__always)
  static func read(
    _ fd: CInt, into memory: some SubmissionMemory, count: Int, at offset: UInt64?,
    descriptorOwner: AnyObject
  ) -> OwnedOperation {
    // SAFETY: the region is `memory`'s own, and `memory` is the first owner.
    let region = unsafe region(of: memory, count: count)
    return unsafe OwnedOperation(
      .read(fd: fd, buffer: region, offset: offset), owners: (memory, descriptorOwner))
  }

  /// `IORING_OP_WRITE` from the first `count` bytes of `memory`, at `offset`
  /// (`nil`: the file position), on `fd`, which `descriptorOwner` keeps open.
  @inline(__always)
  static func write(
    _ fd: CInt, from memory: some SubmissionMemory, count: Int, at offset: UInt64?,
    descriptorOwner: AnyObject
  ) -> OwnedOperation {
    // SAFETY: the region is `memory`'s own, and `memory` is the first owner.
    let region = unsafe UnsafeRawBufferPointer(region(of: memory, count: count))
    return unsafe OwnedOperation(
      .write(fd: fd, buffer: region, offset: offset), owners: (memory, descriptorOwner))
  }
}

extension EventLoop {
  /// Submits `owned` and suspends until its final completion: like
  /// `perform(_:retaining:...)`, with the retained owners taken from the
  /// operation itself, so that they cannot differ from what its SQE points at.
  @inline(__always)
  nonisolated(nonsending) func perform(
    _ owned: OwnedOperation,
    registration: CancellationRegistration = .eager
  ) async -> OperationOutcome {
    unsafe await perform(owned.operation, retaining: owned.owners, registration: registration)
  }
}

/// Memory an ``OwnedOperation`` can lend to the kernel: an object whose
/// region is stable for its lifetime, so that retaining the object keeps the
/// region valid.
protocol SubmissionMemory: AnyObject {
  /// The whole region, stable for the object's lifetime.
  @unsafe var submissionRegion: UnsafeMutableRawBufferPointer { get }
}

extension SharedBuffer: SubmissionMemory {
  @unsafe var submissionRegion: UnsafeMutableRawBufferPointer { unsafe unsafeRegion }
}

extension OwnedBufferStorage: SubmissionMemory {
  @unsafe var submissionRegion: UnsafeMutableRawBufferPointer { unsafe region }
}
