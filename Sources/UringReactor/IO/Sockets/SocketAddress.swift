import Glibc

/// The address of a socket: IPv4, IPv6 or Unix-domain.
///
/// Text forms (``init(parsing:)``, ``description``): `"127.0.0.1:8080"`,
/// `"[::1]:443"` (with an optional zone: `"[fe80::1%2]:80"` or
/// `"[fe80::1%eth0]:80"`), and for Unix-domain sockets a path, `"/tmp/sock"`
/// or `"unix:/tmp/sock"` (`"unix:relative/path"`; `"@name"` or
/// `"unix:@name"` for Linux's abstract namespace). Host names are not
/// resolved: this type is numeric.
///
/// A value type: `Sendable`, `Hashable`. Operations that lend an address to
/// the kernel copy it into memory the reactor retains until the operation's
/// completion.
public enum SocketAddress: Sendable, Hashable {
  /// An IPv4 address and port (`AF_INET`).
  case ipv4(IPv4)
  /// An IPv6 address, port, flow label and zone (`AF_INET6`).
  case ipv6(IPv6)
  /// A Unix-domain socket path (`AF_UNIX`).
  case unix(Unix)

  /// An IPv4 address and port.
  public struct IPv4: Sendable, Hashable {
    /// The address in host byte order: `127.0.0.1` is `0x7F00_0001`.
    public var address: UInt32
    /// The port (0: let the kernel pick one when binding).
    public var port: UInt16

    /// `address` in host byte order, and `port`.
    public init(address: UInt32, port: UInt16) {
      self.address = address
      self.port = port
    }

    /// `a.b.c.d:port`.
    public init(_ a: UInt8, _ b: UInt8, _ c: UInt8, _ d: UInt8, port: UInt16) {
      self.init(
        address: UInt32(a) << 24 | UInt32(b) << 16 | UInt32(c) << 8 | UInt32(d), port: port)
    }

    /// The four bytes, most significant first.
    public var octets: [UInt8] {
      [24, 16, 8, 0].map { UInt8(truncatingIfNeeded: address >> $0) }
    }
  }

  /// An IPv6 address, port, flow label and zone (scope id).
  public struct IPv6: Sendable, Hashable {
    /// The first eight bytes of the address, in network order, as a
    /// big-endian number (`::1` has `high == 0`, `low == 1`).
    public var high: UInt64
    /// The last eight bytes of the address, likewise.
    public var low: UInt64
    /// The port (0: let the kernel pick one when binding).
    public var port: UInt16
    /// The zone: an interface index for link-local addresses, else 0.
    public var scopeID: UInt32
    /// The flow label (`sin6_flowinfo`), usually 0.
    public var flowInfo: UInt32

    /// The address given as two big-endian halves.
    public init(high: UInt64, low: UInt64, port: UInt16, scopeID: UInt32 = 0, flowInfo: UInt32 = 0)
    {
      self.high = high
      self.low = low
      self.port = port
      self.scopeID = scopeID
      self.flowInfo = flowInfo
    }

    /// The address's 16 bytes, in network order (`bytes.count` must be 16).
    public init(bytes: [UInt8], port: UInt16, scopeID: UInt32 = 0, flowInfo: UInt32 = 0) {
      precondition(bytes.count == 16, "an IPv6 address has 16 bytes")
      let high = bytes[0..<8].reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
      let low = bytes[8..<16].reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
      self.init(high: high, low: low, port: port, scopeID: scopeID, flowInfo: flowInfo)
    }

    /// The address's 16 bytes, in network order.
    public var bytes: [UInt8] {
      (0..<8).map { UInt8(truncatingIfNeeded: high >> (56 - 8 * $0)) }
        + (0..<8).map { UInt8(truncatingIfNeeded: low >> (56 - 8 * $0)) }
    }
  }

  /// A Unix-domain socket path.
  public struct Unix: Sendable, Hashable {
    /// The most bytes a path may have (`sun_path` is 108 bytes, with a NUL).
    public static let maximumPathLength = 107

    /// The bytes of `sun_path` without a trailing NUL. A leading NUL byte
    /// marks a name in Linux's abstract namespace; empty means an unnamed
    /// socket (an unbound client, one end of a socket pair).
    public var pathBytes: [UInt8]

    /// A filesystem path.
    ///
    /// - Throws: ``SocketAddressError`` if the path is empty, longer than
    ///   ``maximumPathLength`` bytes, or contains a NUL byte.
    public init(path: String) throws(SocketAddressError) {
      let bytes = Array(path.utf8)
      guard !bytes.isEmpty else { throw SocketAddressError(.emptyUnixPath, input: path) }
      guard !bytes.contains(0) else { throw SocketAddressError(.nulInUnixPath, input: path) }
      guard bytes.count <= Self.maximumPathLength else {
        throw SocketAddressError(
          .unixPathTooLong(length: bytes.count, maximum: Self.maximumPathLength), input: path)
      }
      pathBytes = bytes
    }

    /// A name in Linux's abstract namespace (no file; it vanishes with the
    /// last socket bound to it).
    public init(abstractName name: String) throws(SocketAddressError) {
      let bytes = Array(name.utf8)
      guard bytes.count + 1 <= Self.maximumPathLength else {
        throw SocketAddressError(
          .unixPathTooLong(length: bytes.count + 1, maximum: Self.maximumPathLength),
          input: "@" + name)
      }
      pathBytes = [0] + bytes
    }

    /// `sun_path` bytes as the kernel reported them (trailing NULs dropped
    /// for filesystem paths).
    init(rawPathBytes: [UInt8]) {
      if rawPathBytes.first == 0 {
        pathBytes = rawPathBytes
      } else {
        pathBytes = Array(rawPathBytes.prefix { $0 != 0 })
      }
    }

    /// Whether the name is in the abstract namespace.
    public var isAbstract: Bool { pathBytes.first == 0 }

    /// The path (for an abstract name: the name, without the leading NUL).
    public var path: String {
      String(decoding: isAbstract ? pathBytes.dropFirst() : pathBytes[...], as: UTF8.self)
    }
  }
}

extension SocketAddress {
  /// `127.0.0.1:port`.
  public static func loopbackIPv4(port: UInt16) -> SocketAddress {
    .ipv4(IPv4(127, 0, 0, 1, port: port))
  }

  /// `[::1]:port`.
  public static func loopbackIPv6(port: UInt16) -> SocketAddress {
    .ipv6(IPv6(high: 0, low: 1, port: port))
  }

  /// `0.0.0.0:port`: every IPv4 interface.
  public static func anyIPv4(port: UInt16) -> SocketAddress {
    .ipv4(IPv4(address: 0, port: port))
  }

  /// `[::]:port`: every IPv6 interface.
  public static func anyIPv6(port: UInt16) -> SocketAddress {
    .ipv6(IPv6(high: 0, low: 0, port: port))
  }

  /// A Unix-domain socket at `path`.
  ///
  /// - Throws: ``SocketAddressError`` for an empty, too long or NUL-holding path.
  public static func unixPath(_ path: String) throws(SocketAddressError) -> SocketAddress {
    .unix(try Unix(path: path))
  }

  /// The port, for IP addresses.
  public var port: UInt16? {
    switch self {
    case .ipv4(let address): address.port
    case .ipv6(let address): address.port
    case .unix: nil
    }
  }

  /// The same address with another port (Unix-domain addresses are unchanged).
  public func withPort(_ port: UInt16) -> SocketAddress {
    switch self {
    case .ipv4(var address):
      address.port = port
      return .ipv4(address)
    case .ipv6(var address):
      address.port = port
      return .ipv6(address)
    case .unix:
      return self
    }
  }

  /// The address family (`AF_INET`, `AF_INET6`, `AF_UNIX`).
  public var family: CInt {
    switch self {
    case .ipv4: AF_INET
    case .ipv6: AF_INET6
    case .unix: AF_UNIX
    }
  }
}
