import Glibc
import SystemPackage
import Uring

/// One file of a ``SmallFileBatch``: three linked submissions on a direct
/// descriptor slot, submitted together.
///
/// 1. `IORING_OP_OPENAT` (`O_RDONLY`) into `slot`, with `IOSQE_IO_LINK`: if
///    the open fails, the kernel fails the rest of the chain with
///    `ECANCELED` (the slot stayed empty, nothing to close).
/// 2. `IORING_OP_READ` of up to `maximumSize + 1` bytes at offset 0 on the
///    fixed file `slot` (`IOSQE_FIXED_FILE`), with `IOSQE_IO_HARDLINK`: a
///    failed or short read (a short read breaks a plain link) still lets
///    the close run.
/// 3. `IORING_OP_CLOSE` of `slot` (`io_uring_prep_close_direct`).
///
/// The slot goes back to the table only after the close's CQE. A close
/// that never ran after a successful open (cancelled by a shutdown) is
/// submitted again, alone, so no file stays in a slot (rule 4).
///
/// Memory (rule 1): each of the three in-flight slots retains this object,
/// which holds the path's C string and the buffer, until its own final
/// CQE. The buffer is lent to the kernel from the read's submission to the
/// read's CQE (rule 2).
///
/// Thread-safety: created and completed on the loop thread only.
final class SmallFileChain: CompletionHandler {
  private let batch: SmallFileBatch
  let index: Int
  let slot: UInt32
  private let path: CStringBox
  let buffer: SharedBuffer
  private var openData: UInt64 = 0
  private var readData: UInt64 = 0
  private var closeData: UInt64 = 0
  /// CQEs still to come (open, read, close).
  private var pending = 3
  private var opened = false
  private var closeRetried = false
  private var openError: IOError?
  private var readError: IOError?
  private var bytes = 0

  init(batch: SmallFileBatch, index: Int, slot: UInt32, path: FilePath, capacity: Int) {
    self.batch = batch
    self.index = index
    self.slot = slot
    self.path = CStringBox(path)
    // Not zeroed: the read fills the start, `complete` zeroes the rest.
    self.buffer = SharedBuffer(capacity: capacity, zeroed: false)
  }

  /// Prepares the three linked SQEs, together (one `Ring.reserve`, so the
  /// chain reaches the kernel in one submission). Loop thread; the caller
  /// checked the loop is running, so `start` accepts all three.
  func start(on loop: EventLoop) {
    // SAFETY: the region is the buffer's own memory, which `self` (retained
    // by the read's in-flight slot) keeps alive until the read's CQE.
    let region = unsafe buffer.unsafeRegion
    // A fresh buffer nobody else has: lending it cannot fail.
    try? buffer.beginKernelAccess(.write)
    // SAFETY: the loop thread owns the ring (rule 5); `ring` is loop state.
    unsafe loop.ring!.reserve(3)
    // SAFETY (rule 1): every in-flight slot below retains `self`, hence the
    // path's C string and the buffer, until its own final CQE.
    openData =
      unsafe loop.start(
        .openatDirect(
          directory: AT_FDCWD, path: path.pointer, flags: O_RDONLY, mode: 0, slot: slot),
        handler: self, flags: .link) ?? 0
    readData =
      unsafe loop.start(
        .read(fd: CInt(slot), buffer: region, offset: 0), handler: self,
        flags: [.fixedFile, .hardLink]) ?? 0
    closeData = unsafe loop.start(.closeDirect(slot: slot), handler: self) ?? 0
  }

  /// Loop thread: one of the chain's CQEs (all single-shot).
  func complete(_ completion: Completion, isFinal: Bool, cancellation: CancellationReason?) {
    guard isFinal else { return }
    let outcome = OperationOutcome(
      result: completion.result, flags: completion.flags, cancellation: cancellation)
    switch completion.userData {
    case openData:
      openData = 0
      do throws(IOError) {
        _ = try outcome.value(.openat, path: batch.paths[index])
        opened = true
      } catch {
        openError = error
      }
    case readData:
      readData = 0
      let filled = min(outcome.readCount ?? 0, buffer.capacity)
      // SAFETY: the kernel is done with the buffer (this is the read's CQE);
      // the bytes it did not write are zeroed before anyone sees them.
      let rest = unsafe UnsafeMutableRawBufferPointer(rebasing: buffer.unsafeRegion[filled...])
      unsafe rest.initializeMemory(as: UInt8.self, repeating: 0)
      buffer.endKernelWrite(count: filled)
      do throws(IOError) {
        bytes = Int(try outcome.value(.read, path: batch.paths[index]))
      } catch {
        readError = error
      }
    case closeData:
      closeData = 0
      if opened, !closeRetried, completion.result == -ECANCELED {
        // The close never ran (a shutdown cancelled it): close the slot
        // alone before giving it back.
        closeRetried = true
        if let again = unsafe batch.loop.start(.closeDirect(slot: slot), handler: self) {
          closeData = again
          return
        }
        unsafe batch.loop.submitInternal(.closeDirect(slot: slot))
      }
    default:
      return
    }
    pending -= 1
    if pending == 0 { batch.finished(self) }
  }

  /// Asks the kernel to stop the open and the read, those still in flight
  /// (`IORING_OP_ASYNC_CANCEL`). The close is never cancelled: it must run
  /// for the slot to come back.
  func cancel(on loop: EventLoop) {
    if openData != 0 { loop.cancelOnLoop(openData, reason: .task) }
    if readData != 0 { loop.cancelOnLoop(readData, reason: .task) }
  }

  /// The file's outcome, once every CQE came: the open's error first (the
  /// read's `ECANCELED` then only echoes it), then the read's; a file of
  /// more than `maximumSize` bytes is `EFBIG`.
  func result(maximumSize: Int) -> Result<SharedBuffer, IOError> {
    if let openError { return .failure(openError) }
    if let readError { return .failure(readError) }
    if bytes > maximumSize {
      return .failure(
        IOError(.system(.fileTooLarge), operation: .read, path: batch.paths[index]))
    }
    return .success(buffer)
  }
}
