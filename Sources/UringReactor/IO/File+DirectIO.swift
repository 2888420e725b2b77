import Glibc
import SystemPackage
import Uring

/// What `O_DIRECT` I/O on a file requires: the buffer's address aligned to
/// `memory` bytes, the file offset and the length to `offset` bytes.
///
/// The kernel answers a misaligned direct read or write with a bare `EINVAL`;
/// ``File`` checks first and says which of the three is wrong.
public struct DirectIOAlignment: Sendable, Hashable, CustomStringConvertible {
  /// The alignment of the buffer's address, in bytes.
  public var memory: Int
  /// The alignment of the file offset and of the length, in bytes.
  public var offset: Int

  public init(memory: Int, offset: Int) {
    self.memory = max(memory, 1)
    self.offset = max(offset, 1)
  }

  /// 512 bytes for both: the smallest logical block size, assumed when the
  /// file system does not report its requirement (`STATX_DIOALIGN`).
  public static let conservative = DirectIOAlignment(memory: 512, offset: 512)

  public var description: String {
    "address aligned to \(memory) bytes, offset and length to \(offset) bytes"
  }

  /// Why `region` at `offset` does not fit, or `nil` if it does. A `nil`
  /// offset (the file position) is not checked.
  func violation(_ region: UnsafeMutableRawBufferPointer, offset fileOffset: UInt64?) -> String? {
    let address = UInt(bitPattern: region.baseAddress)
    var problems: [String] = []
    if region.count > 0, address % UInt(memory) != 0 {
      problems.append(
        "the buffer address is \(address % UInt(memory)) bytes past a \(memory)-byte boundary")
    }
    if region.count % offset != 0 {
      problems.append("the length \(region.count) is not a multiple of \(offset)")
    }
    if let fileOffset, fileOffset % UInt64(offset) != 0 {
      problems.append("the file offset \(fileOffset) is not a multiple of \(offset)")
    }
    guard !problems.isEmpty else { return nil }
    return "O_DIRECT needs the \(self); " + problems.joined(separator: ", ")
      + " (nothing was submitted)"
  }
}

extension File {
  /// `O_DIRECT` (the value SwiftGlibc does not import: it is behind
  /// `_GNU_SOURCE`).
  #if arch(arm64) || arch(arm)
    static let directFlag: CInt = 0o200000
  #else
    static let directFlag: CInt = 0o40000
  #endif

  /// Refuses a misaligned `O_DIRECT` transfer before it is submitted.
  @inline(__always)
  func checkDirectIO(
    _ region: UnsafeMutableRawBufferPointer, offset: UInt64?, for operation: Opcode
  ) throws(IOError) {
    guard let directIO else { return }
    if let problem = unsafe directIO.violation(region, offset: offset) {
      throw IOError(.invalidRequest(problem), operation: operation, path: path)
    }
  }

  /// Refuses an offset the kernel would misread: past `Int64.max` a file
  /// offset is negative, and `UInt64.max` (-1) means "the file position".
  @inline(__always)
  func checkOffset(_ offset: UInt64?, for operation: Opcode) throws(IOError) {
    if let offset, offset > UInt64(Int64.max) {
      throw IOError(
        .invalidRequest("the offset \(offset) is past the largest file offset (Int64.max)"),
        operation: operation, path: path)
    }
  }

  /// Wraps a descriptor the ring just opened. For `O_DIRECT`, asks the file
  /// system what alignment direct I/O needs (`IORING_OP_STATX` with
  /// `STATX_DIOALIGN`); if it cannot tell, ``DirectIOAlignment/conservative``.
  nonisolated(nonsending) static func adopt(
    opened fd: Int32, flags: CInt, path: FilePath?, on reactor: Reactor
  ) async throws(IOError) -> File {
    guard flags & directFlag != 0 else {
      return File(adopting: FileDescriptor(rawValue: fd), path: path, directIO: nil, on: reactor)
    }
    let probe = File(
      adopting: FileDescriptor(rawValue: fd), path: path, directIO: .conservative, on: reactor)
    let status = try? await probe.status()
    guard let memory = status?.directIOMemoryAlignment,
      let offset = status?.directIOOffsetAlignment, memory > 0, offset > 0
    else { return probe }
    return File(
      adopting: FileDescriptor(rawValue: probe.takeDescriptor()), path: path,
      directIO: DirectIOAlignment(memory: Int(memory), offset: Int(offset)), on: reactor)
  }
}
