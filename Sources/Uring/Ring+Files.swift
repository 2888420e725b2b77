import CLibUring
public import SystemPackage

extension Ring {
  /// The most descriptors one registered file table may hold (the kernel's
  /// `IORING_MAX_FIXED_FILES`; `RLIMIT_NOFILE` may lower it).
  public static let maximumRegisteredFiles = 1 << 20

  /// Registers `descriptors` as the ring's fixed file table
  /// (`io_uring_register_files`, `IORING_REGISTER_FILES`): a submission with
  /// `IOSQE_FIXED_FILE` then names a file by its position in the table,
  /// which spares the kernel looking the descriptor up (and taking a
  /// reference) on every operation. A `-1` entry is an empty slot.
  ///
  /// The kernel takes its own reference to each file: closing a descriptor
  /// afterwards does not remove it from the table. The owner of the ring must
  /// not clear or replace a slot while an operation that names it is in
  /// flight.
  ///
  /// One table per ring: a second registration fails with `EBUSY` until
  /// ``unregisterFiles()``.
  ///
  /// Thread-safety: call from the thread that owns the ring (with
  /// ``RingSetup/singleIssuer`` the kernel insists on the submitter thread).
  ///
  /// - Throws: the kernel's errno: `EBUSY` (a table exists), `EBADF` (a
  ///   descriptor is not open), `EMFILE` (more than `RLIMIT_NOFILE`),
  ///   `EINVAL` (empty or too large).
  public mutating func registerFiles(_ descriptors: [CInt]) throws(Errno) {
    guard !descriptors.isEmpty, descriptors.count <= Ring.maximumRegisteredFiles else {
      throw .invalidArgument
    }
    // SAFETY: the kernel copies the array during the call.
    let result = unsafe descriptors.withUnsafeBufferPointer { buffer in
      unsafe io_uring_register_files(raw, buffer.baseAddress, UInt32(buffer.count))
    }
    if result < 0 { throw Errno(rawValue: -result) }
  }

  /// Registers a table of `count` empty slots (`io_uring_register_files_sparse`,
  /// `IORING_RSRC_REGISTER_SPARSE`), to be filled with
  /// ``updateRegisteredFiles(_:at:)``. Thread-safety and errors: as
  /// ``registerFiles(_:)``.
  public mutating func registerSparseFiles(count: Int) throws(Errno) {
    guard count > 0, count <= Ring.maximumRegisteredFiles else { throw .invalidArgument }
    let result = unsafe io_uring_register_files_sparse(raw, UInt32(count))
    if result < 0 { throw Errno(rawValue: -result) }
  }

  /// Replaces the slots from `offset` with `descriptors`
  /// (`io_uring_register_files_update`, `IORING_REGISTER_FILES_UPDATE`); `-1`
  /// empties a slot. The owner must not change a slot an operation in
  /// flight names.
  ///
  /// - Throws: `ENXIO` (no table), `EINVAL` (outside the table), `EBADF`.
  public mutating func updateRegisteredFiles(_ descriptors: [CInt], at offset: Int) throws(Errno) {
    guard !descriptors.isEmpty, offset >= 0 else { throw .invalidArgument }
    // SAFETY: the kernel copies the array during the call.
    let result = unsafe descriptors.withUnsafeBufferPointer { buffer in
      unsafe io_uring_register_files_update(
        raw, UInt32(offset), buffer.baseAddress, UInt32(buffer.count))
    }
    if result < 0 { throw Errno(rawValue: -result) }
    guard Int(result) == descriptors.count else { throw .resourceTemporarilyUnavailable }
  }

  /// Unregisters the fixed file table (`io_uring_unregister_files`,
  /// `IORING_UNREGISTER_FILES`); the kernel drops its references. The owner
  /// must not do this while an operation that names a slot is in flight.
  ///
  /// - Throws: `ENXIO` when there is no table.
  public mutating func unregisterFiles() throws(Errno) {
    let result = unsafe io_uring_unregister_files(raw)
    if result < 0 { throw Errno(rawValue: -result) }
  }
}
