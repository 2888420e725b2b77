import SystemPackage
import Uring

/// The direct descriptor slots of one reactor (a sparse registered file
/// table, `IORING_RSRC_REGISTER_SPARSE`), handed out to
/// ``FileSystem/readFiles(_:maximumSize:)`` one file at a time: an
/// `IORING_OP_OPENAT` fills a slot, the file's read names it with
/// `IOSQE_FIXED_FILE`, and a close empties it.
///
/// - Ownership: a slot is taken for one open-read-close chain and given back
///   only after that chain's close CQE (or, if the close never ran, a second
///   close's CQE): it is never reused while the kernel may still hold a file
///   in it, nor while an operation names it.
/// - Waiting: a batch that finds no free slot waits in ``waiters`` (first
///   come, first served) and is started again as slots come back, so a
///   batch larger than the table, or many batches at once, run through it.
/// - The ring has one table: a ``RegisteredFileTable`` registered first
///   makes this one unavailable (``EventLoop/directSlotTable()`` returns
///   `nil`); registering a ``RegisteredFileTable`` later unregisters this one
///   if no slot is taken, else fails with `EBUSY`.
/// - Thread-safety: the loop thread only (the ring's submitter).
final class DirectSlotTable {
  /// Whether a loop has registered its table.
  enum State {
    /// Not yet: registered on first use.
    case unregistered
    case registered(DirectSlotTable)
    /// The ring has another table (a ``RegisteredFileTable``), or the
    /// registration failed: callers take the path without direct slots.
    case unavailable
  }

  /// Slots per reactor. A sparse table of 256 costs the kernel 2 KiB and
  /// stays below the usual `RLIMIT_NOFILE` of 1024, which bounds it.
  static let capacity = 256

  private var free: [UInt32]
  private var waiters: [SmallFileBatch] = []

  init() {
    free = (0..<UInt32(Self.capacity)).reversed()
  }

  /// How many slots are taken (tests, diagnostics).
  var inUse: Int { Self.capacity - free.count }

  /// A free slot, if any.
  func take() -> UInt32? { free.popLast() }

  /// Puts `batch` in line for the next free slot.
  func wait(_ batch: SmallFileBatch) {
    waiters.append(batch)
  }

  /// Gives `slot` back (after its close's CQE) and starts the batches
  /// waiting for one, in order, while slots are free.
  func release(_ slot: UInt32, on loop: EventLoop) {
    free.append(slot)
    while !free.isEmpty, !waiters.isEmpty {
      let batch = waiters.removeFirst()
      batch.startMore(on: loop, slots: self)
    }
  }
}

extension EventLoop {
  /// This loop's direct slot table, registered (`io_uring_register_files_sparse`)
  /// on first use; `nil` if the ring has another table. Loop thread only.
  func directSlotTable() -> DirectSlotTable? {
    switch directSlots {
    case .registered(let table):
      return table
    case .unavailable:
      return nil
    case .unregistered:
      guard ownsLoopState, lifecycle == .running else { return nil }
      // SAFETY: the loop thread owns the ring (checked above).
      do throws(Errno) {
        try unsafe ring!.registerSparseFiles(count: DirectSlotTable.capacity)
      } catch {
        directSlots = .unavailable
        return nil
      }
      let table = DirectSlotTable()
      directSlots = .registered(table)
      return table
    }
  }

  /// Makes room for a ``RegisteredFileTable``: unregisters the direct slot
  /// table unless a slot is taken (then `false`: the ring stays busy).
  /// Loop thread only.
  func yieldDirectSlotTable() -> Bool {
    switch directSlots {
    case .registered(let table):
      guard table.inUse == 0 else { return false }
      // SAFETY: loop thread (the caller's contract); no slot is taken.
      try? unsafe ring!.unregisterFiles()
      directSlots = .unavailable
      return true
    case .unregistered, .unavailable:
      directSlots = .unavailable
      return true
    }
  }
}
