import Glibc

extension SocketAddress: CustomStringConvertible {
  /// Parses the usual text forms: `"127.0.0.1:8080"`, `"[::1]:443"`,
  /// `"[fe80::1%eth0]:80"`, `"/tmp/sock"`, `"unix:/tmp/sock"`,
  /// `"unix:relative"`, `"@abstract"`, `"unix:"` (an unnamed socket).
  ///
  /// This is the one parser: where a missing address is not an error, write
  /// `try? SocketAddress(parsing: text)`.
  ///
  /// - Throws: ``SocketAddressError`` naming what is wrong. Host names are not
  ///   resolved (`"localhost:80"` is refused).
  public init(parsing text: String) throws(SocketAddressError) {
    if text.isEmpty { throw SocketAddressError(.empty, input: text) }
    if text.hasPrefix("unix:") {
      self = try Self.parseUnix(String(text.dropFirst(5)), input: text, allowUnnamed: true)
    } else if text.hasPrefix("/") || text.hasPrefix("./") || text.hasPrefix("../")
      || text.hasPrefix("@")
    {
      self = try Self.parseUnix(text, input: text, allowUnnamed: false)
    } else if text.hasPrefix("[") {
      self = .ipv6(try Self.parseIPv6(text))
    } else {
      self = .ipv4(try Self.parseIPv4(text))
    }
  }

  /// The usual text form, which ``init(parsing:)`` reads back:
  /// `127.0.0.1:8080`, `[::1]:443`, `[fe80::1%2]:80`, `/tmp/sock`,
  /// `unix:relative`, `@abstract`, `unix:` (unnamed).
  public var description: String {
    switch self {
    case .ipv4(let address):
      return address.octets.map { String($0) }.joined(separator: ".") + ":\(address.port)"
    case .ipv6(let address):
      let zone = address.scopeID == 0 ? "" : "%\(address.scopeID)"
      return "[\(Self.ipv6Text(address))\(zone)]:\(address.port)"
    case .unix(let address):
      if address.isAbstract { return "@" + address.path }
      let path = address.path
      return path.hasPrefix("/") ? path : "unix:" + path
    }
  }

  private static func parseUnix(
    _ path: String, input: String, allowUnnamed: Bool
  ) throws(SocketAddressError) -> SocketAddress {
    if path.isEmpty {
      guard allowUnnamed else { throw SocketAddressError(.emptyUnixPath, input: input) }
      return .unix(Unix(rawPathBytes: []))
    }
    do throws(SocketAddressError) {
      if path.hasPrefix("@") {
        return .unix(try Unix(abstractName: String(path.dropFirst())))
      }
      return .unix(try Unix(path: path))
    } catch {
      throw SocketAddressError(error.kind, input: input)
    }
  }

  private static func parseIPv4(_ text: String) throws(SocketAddressError) -> IPv4 {
    guard let colon = text.lastIndex(of: ":") else {
      throw SocketAddressError(.missingPort, input: text)
    }
    let host = String(text[..<colon])
    if host.contains(":") { throw SocketAddressError(.ipv6WithoutBrackets, input: text) }
    let port = try parsePort(text[text.index(after: colon)...], input: text)
    var raw = in_addr()
    guard unsafe inet_pton(AF_INET, host, &raw) == 1 else {
      throw SocketAddressError(.invalidIPv4Address(host), input: text)
    }
    return IPv4(address: UInt32(bigEndian: raw.s_addr), port: port)
  }

  private static func parseIPv6(_ text: String) throws(SocketAddressError) -> IPv6 {
    guard let close = text.firstIndex(of: "]") else {
      throw SocketAddressError(.malformedBrackets, input: text)
    }
    let inside = text[text.index(after: text.startIndex)..<close]
    let rest = text[text.index(after: close)...]
    guard !rest.isEmpty else { throw SocketAddressError(.missingPort, input: text) }
    guard rest.hasPrefix(":") else { throw SocketAddressError(.malformedBrackets, input: text) }
    let port = try parsePort(rest.dropFirst(), input: text)
    var host = String(inside)
    var scopeID: UInt32 = 0
    if let percent = inside.firstIndex(of: "%") {
      host = String(inside[..<percent])
      let zone = String(inside[inside.index(after: percent)...])
      if let index = UInt32(zone) {
        scopeID = index
      } else {
        scopeID = unsafe zone.isEmpty ? 0 : if_nametoindex(zone)
        guard scopeID != 0 else { throw SocketAddressError(.unknownZone(zone), input: text) }
      }
    }
    var raw = in6_addr()
    guard unsafe inet_pton(AF_INET6, host, &raw) == 1 else {
      throw SocketAddressError(.invalidIPv6Address(host), input: text)
    }
    let bytes = unsafe withUnsafeBytes(of: raw) { unsafe Array($0) }
    return IPv6(bytes: bytes, port: port, scopeID: scopeID)
  }

  private static func parsePort(_ text: Substring, input: String) throws(SocketAddressError)
    -> UInt16
  {
    guard !text.isEmpty else { throw SocketAddressError(.missingPort, input: input) }
    guard text.utf8.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }),
      text.count <= 5, let port = UInt16(text)
    else {
      throw SocketAddressError(.invalidPort(String(text)), input: input)
    }
    return port
  }

  private static func ipv6Text(_ address: IPv6) -> String {
    var raw = in6_addr()
    unsafe withUnsafeMutableBytes(of: &raw) { unsafe $0.copyBytes(from: address.bytes) }
    var text = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN))
    guard unsafe inet_ntop(AF_INET6, &raw, &text, socklen_t(text.count)) != nil else { return "?" }
    return String(decoding: text.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
  }
}
