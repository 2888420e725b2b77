import Glibc
import SystemPackage
import Uring

/// A reactor's fixed file table (`IORING_REGISTER_FILES`, sparse): an
/// opt-in for hot descriptors. A ``RegisteredFile`` submits with
/// `IOSQE_FIXED_FILE` and its slot index, which spares the kernel the
/// descriptor lookup and reference count of every operation.
///
/// - One per ring: the kernel keeps a single table per ring;
///   ``register(capacity:on:)`` throws `EBUSY` while another is registered.
/// - Safety: a slot is filled by ``insert(_:)`` and emptied only when its
///   ``RegisteredFile`` is gone. Every operation through a ``RegisteredFile``
///   retains it in the reactor's in-flight slot until its final CQE, so a
///   slot is never emptied (nor reused) while an operation names it, and the
///   ``File`` (its descriptor) stays open while it is registered.
///   ``unregister()`` is refused (`EBUSY`) while any registered file lives.
/// - Thread-safety: `Sendable`; table changes run on the loop thread (the
///   ring's submitter, as `IORING_SETUP_SINGLE_ISSUER` requires).
public final class RegisteredFileTable: Sendable {
  /// The reactor whose ring holds the table.
  public let reactor: Reactor
  /// How many slots the table has.
  public let capacity: Int
  private let state: Locked<TableState>

  private struct TableState {
    var free: [Int32]
    var live = 0
    var registered = true
  }

  private init(reactor: Reactor, capacity: Int) {
    self.reactor = reactor
    self.capacity = capacity
    state = Locked(TableState(free: (0..<Int32(capacity)).reversed()))
  }

  /// Registers a table of `capacity` empty slots with `reactor`'s ring
  /// (`io_uring_register_files_sparse`, on the loop thread).
  ///
  /// - Throws: ``IOError`` with `EBUSY` if the ring has a table, `EMFILE`
  ///   beyond `RLIMIT_NOFILE`, `EINVAL` for a bad capacity, or
  ///   ``IOError/Kind/reactorShutDown``.
  nonisolated(nonsending) public static func register(capacity: Int, on reactor: Reactor)
    async throws(IOError)
    -> RegisteredFileTable
  {
    guard capacity > 0, capacity <= Ring.maximumRegisteredFiles else {
      throw tableError(.invalidArgument)
    }
    try await reactor.onLoop { loop throws(IOError) in
      guard loop.ownsLoopState, loop.lifecycle == .running else {
        throw IOError(.reactorShutDown, operation: .nop, systemCall: "io_uring_register")
      }
      // The ring has one table: readFiles's direct slots give theirs up
      // unless a slot is taken (then EBUSY).
      guard loop.yieldDirectSlotTable() else { throw tableError(.resourceBusy) }
      do throws(Errno) {
        unsafe try loop.ring!.registerSparseFiles(count: capacity)
      } catch {
        throw tableError(error)
      }
    }
    return RegisteredFileTable(reactor: reactor, capacity: capacity)
  }

  /// Puts `file`'s descriptor in a free slot (`io_uring_register_files_update`)
  /// and returns the handle that submits through it. The slot is emptied
  /// when the handle is gone (after its last operation's CQE).
  ///
  /// - Throws: ``IOError`` with `ENFILE` when every slot is taken, `EBADF`
  ///   for a closed file, `EINVAL` for a file of another reactor, `ENXIO`
  ///   after ``unregister()``.
  nonisolated(nonsending) public func insert(_ file: File) async throws(IOError) -> RegisteredFile {
    guard file.reactor === reactor else { throw Self.tableError(.invalidArgument) }
    let slot = try state.withLock { state throws(IOError) -> Int32 in
      guard state.registered else { throw Self.tableError(.noSuchAddressOrDevice) }
      guard let slot = state.free.popLast() else {
        throw Self.tableError(.tooManyOpenFilesInSystem)
      }
      state.live += 1
      return slot
    }
    do throws(IOError) {
      try await reactor.onLoop { loop throws(IOError) in
        let fd = try file.liveDescriptor(for: .nop)
        guard loop.ownsLoopState else { throw Self.tableError(.noSuchAddressOrDevice) }
        do throws(Errno) {
          unsafe try loop.ring!.updateRegisteredFiles([fd], at: Int(slot))
        } catch {
          throw Self.tableError(error)
        }
      }
    } catch {
      state.withLock { state in
        state.free.append(slot)
        state.live -= 1
      }
      throw error
    }
    return RegisteredFile(file: file, index: slot, table: self)
  }

  /// Unregisters the table (`io_uring_unregister_files`), after which the
  /// ring may register another.
  ///
  /// - Throws: `EBUSY` while a ``RegisteredFile`` of this table lives (some
  ///   may have operations in flight); `ENXIO` if already unregistered.
  nonisolated(nonsending) public func unregister() async throws(IOError) {
    try state.withLock { state throws(IOError) in
      guard state.registered else { throw Self.tableError(.noSuchAddressOrDevice) }
      guard state.live == 0 else { throw Self.tableError(.resourceBusy) }
      state.registered = false
    }
    await reactor.onLoop { loop throws(Never) in
      if loop.ownsLoopState {
        unsafe try? loop.ring!.unregisterFiles()
        loop.directSlots = .unregistered
      }
    }
  }

  /// How many slots are taken.
  public var count: Int { state.withLock { $0.live } }

  /// Loop thread or any: empties `slot` once its handle is gone.
  func release(_ slot: Int32) {
    let reactor = self.reactor
    reactor.runOnLoop { loop in
      // After termination (`loop` is nil) the ring and its table are gone.
      if let loop, self.state.withLock({ $0.registered }) {
        unsafe try? loop.ring!.updateRegisteredFiles([-1], at: Int(slot))
      }
      self.state.withLock { state in
        state.free.append(slot)
        state.live -= 1
      }
    }
  }

  private static func tableError(_ errno: Errno) -> IOError {
    IOError(.system(errno), operation: .nop, systemCall: "io_uring_register")
  }
}
