/// Text that is not a socket address, or a socket address the kernel
/// reported in a form this package does not know.
public struct SocketAddressError: Error, Sendable, Hashable, CustomStringConvertible {
  /// What is wrong.
  public enum Kind: Sendable, Hashable {
    /// The text is empty.
    case empty
    /// An IP address without `:port`.
    case missingPort
    /// The port is not a decimal number in `0...65535`.
    case invalidPort(String)
    /// Not a dotted-quad IPv4 address (host names are not resolved).
    case invalidIPv4Address(String)
    /// Not an IPv6 address.
    case invalidIPv6Address(String)
    /// An IPv6 address with colons but no brackets: write `[::1]:443`.
    case ipv6WithoutBrackets
    /// A `[` with no matching `]`, or text between `]` and `:port`.
    case malformedBrackets
    /// The zone after `%` is neither a number nor an interface of this machine.
    case unknownZone(String)
    /// `unix:` with an empty path, where a path is required.
    case emptyUnixPath
    /// A Unix-domain path holding a NUL byte.
    case nulInUnixPath
    /// A Unix-domain path longer than `sun_path` allows.
    case unixPathTooLong(length: Int, maximum: Int)
    /// A `sockaddr` of a family other than `AF_INET`, `AF_INET6`, `AF_UNIX`,
    /// or shorter than its family requires.
    case unsupportedFamily(CInt)
  }

  /// What is wrong.
  public var kind: Kind
  /// The text that was parsed (empty for a kernel-reported address).
  public var input: String

  /// An error of `kind` about `input`.
  public init(_ kind: Kind, input: String) {
    self.kind = kind
    self.input = input
  }

  /// What is wrong, quoting the input.
  public var description: String {
    let what: String =
      switch kind {
      case .empty: "empty address"
      case .missingPort: "missing ':port'"
      case .invalidPort(let port): "invalid port '\(port)' (0...65535)"
      case .invalidIPv4Address(let host):
        "'\(host)' is not an IPv4 address (a.b.c.d; host names are not resolved)"
      case .invalidIPv6Address(let host): "'\(host)' is not an IPv6 address"
      case .ipv6WithoutBrackets: "an IPv6 address needs brackets: [::1]:443"
      case .malformedBrackets: "expected '[address]:port'"
      case .unknownZone(let zone): "unknown IPv6 zone '\(zone)' (an interface name or index)"
      case .emptyUnixPath: "empty Unix-domain socket path"
      case .nulInUnixPath: "a Unix-domain socket path cannot hold a NUL byte"
      case .unixPathTooLong(let length, let maximum):
        "Unix-domain socket path of \(length) bytes (at most \(maximum))"
      case .unsupportedFamily(let family): "unsupported socket address family \(family)"
      }
    return input.isEmpty ? "socket address: \(what)" : "socket address '\(input)': \(what)"
  }
}
