import CLibUring

/// An io_uring operation code (`IORING_OP_*`), with a readable name.
///
/// Values are the kernel's: `Opcode.read.rawValue == IORING_OP_READ`.
public struct Opcode: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
  public let rawValue: UInt8
  public init(rawValue: UInt8) { self.rawValue = rawValue }

  init(_ op: io_uring_op) { self.rawValue = UInt8(truncatingIfNeeded: op.rawValue) }

  public static let nop = Opcode(IORING_OP_NOP)
  public static let readv = Opcode(IORING_OP_READV)
  public static let writev = Opcode(IORING_OP_WRITEV)
  public static let fsync = Opcode(IORING_OP_FSYNC)
  public static let readFixed = Opcode(IORING_OP_READ_FIXED)
  public static let writeFixed = Opcode(IORING_OP_WRITE_FIXED)
  public static let pollAdd = Opcode(IORING_OP_POLL_ADD)
  public static let pollRemove = Opcode(IORING_OP_POLL_REMOVE)
  public static let sendmsg = Opcode(IORING_OP_SENDMSG)
  public static let recvmsg = Opcode(IORING_OP_RECVMSG)
  public static let timeout = Opcode(IORING_OP_TIMEOUT)
  public static let timeoutRemove = Opcode(IORING_OP_TIMEOUT_REMOVE)
  public static let accept = Opcode(IORING_OP_ACCEPT)
  public static let asyncCancel = Opcode(IORING_OP_ASYNC_CANCEL)
  public static let linkTimeout = Opcode(IORING_OP_LINK_TIMEOUT)
  public static let connect = Opcode(IORING_OP_CONNECT)
  public static let fallocate = Opcode(IORING_OP_FALLOCATE)
  public static let openat = Opcode(IORING_OP_OPENAT)
  public static let close = Opcode(IORING_OP_CLOSE)
  public static let statx = Opcode(IORING_OP_STATX)
  public static let read = Opcode(IORING_OP_READ)
  public static let write = Opcode(IORING_OP_WRITE)
  public static let fadvise = Opcode(IORING_OP_FADVISE)
  public static let send = Opcode(IORING_OP_SEND)
  public static let recv = Opcode(IORING_OP_RECV)
  public static let openat2 = Opcode(IORING_OP_OPENAT2)
  public static let splice = Opcode(IORING_OP_SPLICE)
  public static let provideBuffers = Opcode(IORING_OP_PROVIDE_BUFFERS)
  public static let shutdown = Opcode(IORING_OP_SHUTDOWN)
  public static let renameat = Opcode(IORING_OP_RENAMEAT)
  public static let unlinkat = Opcode(IORING_OP_UNLINKAT)
  public static let mkdirat = Opcode(IORING_OP_MKDIRAT)
  public static let symlinkat = Opcode(IORING_OP_SYMLINKAT)
  public static let linkat = Opcode(IORING_OP_LINKAT)
  public static let msgRing = Opcode(IORING_OP_MSG_RING)
  public static let socket = Opcode(IORING_OP_SOCKET)
  public static let sendZC = Opcode(IORING_OP_SEND_ZC)
  public static let sendmsgZC = Opcode(IORING_OP_SENDMSG_ZC)
  // Newer than the 6.1 uapi header: by value.
  public static let readMultishot = Opcode(rawValue: 49)
  public static let ftruncate = Opcode(rawValue: 55)
  public static let bind = Opcode(rawValue: 56)
  public static let listen = Opcode(rawValue: 57)

  /// Every opcode this package knows by name, in kernel order.
  public static let known: [Opcode] = [
    .nop, .readv, .writev, .fsync, .readFixed, .writeFixed, .pollAdd, .pollRemove,
    .sendmsg, .recvmsg, .timeout, .timeoutRemove, .accept, .asyncCancel, .linkTimeout,
    .connect, .fallocate, .openat, .close, .statx, .read, .write, .fadvise, .send, .recv,
    .openat2, .splice, .provideBuffers, .shutdown, .renameat, .unlinkat, .mkdirat,
    .symlinkat, .linkat, .msgRing, .socket, .sendZC, .sendmsgZC, .readMultishot, .ftruncate,
    .bind, .listen,
  ]

  /// The short name used in errors and listings (`read`, `openat`, `async_cancel`).
  public var name: String {
    switch self {
    case .nop: "nop"
    case .readv: "readv"
    case .writev: "writev"
    case .fsync: "fsync"
    case .readFixed: "read_fixed"
    case .writeFixed: "write_fixed"
    case .pollAdd: "poll_add"
    case .pollRemove: "poll_remove"
    case .sendmsg: "sendmsg"
    case .recvmsg: "recvmsg"
    case .timeout: "timeout"
    case .timeoutRemove: "timeout_remove"
    case .accept: "accept"
    case .asyncCancel: "async_cancel"
    case .linkTimeout: "link_timeout"
    case .connect: "connect"
    case .fallocate: "fallocate"
    case .openat: "openat"
    case .close: "close"
    case .statx: "statx"
    case .read: "read"
    case .write: "write"
    case .fadvise: "fadvise"
    case .send: "send"
    case .recv: "recv"
    case .openat2: "openat2"
    case .splice: "splice"
    case .provideBuffers: "provide_buffers"
    case .shutdown: "shutdown"
    case .renameat: "renameat"
    case .unlinkat: "unlinkat"
    case .mkdirat: "mkdirat"
    case .symlinkat: "symlinkat"
    case .linkat: "linkat"
    case .msgRing: "msg_ring"
    case .socket: "socket"
    case .sendZC: "send_zc"
    case .sendmsgZC: "sendmsg_zc"
    case .readMultishot: "read_multishot"
    case .ftruncate: "ftruncate"
    case .bind: "bind"
    case .listen: "listen"
    default: "op#\(rawValue)"
    }
  }

  public var description: String { name }
}
