import CLibUring
import Glibc
import SystemPackage
import Uring

/// A pipe that ``SocketStream/send(file:range:)`` splices file bytes
/// through on their way to a socket (`IORING_OP_SPLICE` file -> pipe, then
/// pipe -> socket): the bytes move as page references, never through user
/// memory.
///
/// Ownership: every splice's in-flight slot retains the pipe until its final
/// CQE (rule 1), so its descriptors stay open while the kernel uses them;
/// `deinit` closes both ends. Thread-safety: loop-confined (taken from and
/// given back to its loop's ``SplicePipePool`` on the loop thread).
final class SplicePipe: Sendable {
  /// The read end (spliced to the socket) and the write end (spliced into
  /// from the file).
  let readEnd: CInt
  let writeEnd: CInt
  /// The pipe's capacity in bytes (`CLU_F_GETPIPE_SZ`): the most one
  /// file -> pipe splice moves.
  let capacity: Int

  private init(readEnd: CInt, writeEnd: CInt, capacity: Int) {
    self.readEnd = readEnd
    self.writeEnd = writeEnd
    self.capacity = capacity
  }

  deinit {
    Glibc.close(readEnd)
    Glibc.close(writeEnd)
  }

  /// A new close-on-exec pipe, grown to `preferredCapacity` bytes when the
  /// system allows (`CLU_F_SETPIPE_SZ`; beyond `/proc/sys/fs/pipe-max-size` it
  /// keeps its default size).
  static func make(preferredCapacity: Int, address: SocketAddress?) throws(IOError) -> SplicePipe {
    var fds: [CInt] = [-1, -1]
    // SAFETY: `fds` has room for the two descriptors pipe2 writes.
    guard unsafe clu_pipe_cloexec(&fds) == 0 else {
      var error = IOError(.system(Errno(rawValue: errno)), operation: .splice, address: address)
      error.systemCall = "pipe2"
      throw error
    }
    _ = fcntl(fds[1], CLU_F_SETPIPE_SZ, CInt(preferredCapacity))
    let size = fcntl(fds[1], CLU_F_GETPIPE_SZ)
    return SplicePipe(readEnd: fds[0], writeEnd: fds[1], capacity: Int(max(size, 4096)))
  }
}

/// The idle ``SplicePipe``s of one loop: a send takes one for its whole
/// call and gives it back empty; a pipe that may still hold bytes (a send
/// that failed or was cancelled between its two splices) is never given
/// back: it closes once its last slot lets go of it.
///
/// Thread-safety: loop-confined (an ``EventLoop`` property).
struct SplicePipePool {
  /// The most idle pipes kept (two descriptors each).
  static let keep = 32
  /// The capacity asked for each pipe: 1 MiB, the default
  /// `/proc/sys/fs/pipe-max-size`, so that a large file moves in 1 MiB splices.
  static let preferredCapacity = 1 << 20
  private var idle: [SplicePipe] = []

  /// An idle pipe, or a new one.
  mutating func take(address: SocketAddress?) throws(IOError) -> SplicePipe {
    if let pipe = idle.popLast() { return pipe }
    return try SplicePipe.make(preferredCapacity: Self.preferredCapacity, address: address)
  }

  /// Takes back a pipe known to be empty (every byte spliced in was spliced out).
  mutating func giveBack(_ pipe: SplicePipe) {
    if idle.count < Self.keep { idle.append(pipe) }
  }

  /// How many idle pipes are kept (tests).
  var idleCount: Int { idle.count }
}
