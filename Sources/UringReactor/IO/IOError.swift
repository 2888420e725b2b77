public import SystemPackage
public import Uring

/// Why an I/O operation on a reactor failed: the errno (or cancellation), the
/// operation, and the path when there is one.
public struct IOError: Error, Sendable, Hashable, CustomStringConvertible {
  public enum Kind: Sendable, Hashable {
    /// The kernel answered with this errno.
    case system(Errno)
    /// The calling task was cancelled; the operation was cancelled in the
    /// kernel (or never reached it), and its memory was kept until its CQE.
    case cancelled
    /// The reactor shut down before the operation completed.
    case reactorShutDown
    /// The operation's deadline passed.
    case timedOut
    /// The memory could not be lent to the kernel: it is in use.
    case memoryBusy(MemoryAccessError)
    /// Refused before anything was submitted, for the reason given (e.g. an
    /// `O_DIRECT` buffer that is not aligned as the file requires).
    case invalidRequest(String)
  }

  public var kind: Kind
  /// The operation that failed.
  public var operation: Opcode
  /// The path it was about, if any.
  public var path: FilePath?
  /// The blocking system call that failed, for work io_uring cannot do that
  /// ran on an ``OffloadPool`` (listing a directory: `getdents64`); its
  /// `operation` is then `Opcode.offloaded`. `nil` for ring operations.
  public var systemCall: String?
  /// The socket address it was about (the peer, or the address bound), if any.
  public var address: SocketAddress?
  /// This side's address, for an error on a connected stream when it is
  /// known: the description then reads `send 127.0.0.1:5000 -> 127.0.0.1:41234`.
  public var localAddress: SocketAddress?

  public init(_ kind: Kind, operation: Opcode, path: FilePath? = nil, systemCall: String? = nil) {
    self.kind = kind
    self.operation = operation
    self.path = path
    self.systemCall = systemCall
  }

  /// An error about a socket `address`.
  public init(_ kind: Kind, operation: Opcode, address: SocketAddress?) {
    self.init(kind, operation: operation)
    self.address = address
  }

  /// The errno: the kernel's, or `ECANCELED`/`ETIMEDOUT` for the other kinds.
  public var errno: Errno {
    switch kind {
    case .system(let errno): errno
    case .cancelled, .reactorShutDown: .canceled
    case .timedOut: .timedOut
    case .memoryBusy: .resourceBusy
    case .invalidRequest: .invalidArgument
    }
  }

  public var description: String {
    let what: String =
      switch kind {
      case .system(let errno): "\(errno)"
      case .cancelled: "cancelled"
      case .reactorShutDown: "the reactor shut down"
      case .timedOut: "timed out"
      case .memoryBusy(let error): "\(error)"
      case .invalidRequest(let reason): reason
      }
    let pathText = (path.map { " '\($0)'" } ?? "") + Self.addressText(localAddress, address)
    let name = operation == .bufferAccess ? "buffer access" : operation.name
    return "\(systemCall ?? name)\(pathText): \(what)"
  }
}

extension IOError {
  /// ` local -> peer`, ` peer` or nothing; an unnamed Unix-domain address
  /// (`unix:`) names nothing and is left out.
  private static func addressText(_ local: SocketAddress?, _ peer: SocketAddress?) -> String {
    func named(_ address: SocketAddress?) -> String? {
      guard let address else { return nil }
      if case .unix(let unix) = address, unix.pathBytes.isEmpty { return nil }
      return address.description
    }
    switch (named(local), named(peer)) {
    case (let local?, let peer?): return " \(local) -> \(peer)"
    case (nil, let peer?): return " \(peer)"
    case (let local?, nil): return " \(local)"
    case (nil, nil): return ""
    }
  }
}

extension Opcode {
  /// Not an io_uring opcode: the ``IOError/operation`` of work that ran as a
  /// blocking system call on an ``OffloadPool`` (``IOError/systemCall`` names it).
  public static let offloaded = Opcode(rawValue: 0xFF)
}

extension OperationOutcome {
  /// The non-negative result, or the error it stands for.
  func value(_ operation: Opcode, path: FilePath? = nil) throws(IOError) -> Int32 {
    if result >= 0 { return result }
    if let reason = cancellation,
      result == -Errno.canceled.rawValue || result == -Errno.interrupted.rawValue
    {
      let kind: IOError.Kind =
        switch reason {
        case .task: .cancelled
        case .shutdown: .reactorShutDown
        case .deadline: .timedOut
        }
      throw IOError(kind, operation: operation, path: path)
    }
    throw IOError(.system(Errno(rawValue: -result)), operation: operation, path: path)
  }

  /// The bytes a read filled, or `nil` if it failed.
  var readCount: Int? { result >= 0 ? Int(result) : nil }
}
