import Glibc
import TestSupport
import Testing
import UringReactor

@Suite(.sharesProcess)
struct SocketAddressTests {
  @Test(arguments: [
    "127.0.0.1:8080", "0.0.0.0:0", "255.255.255.255:65535", "[::1]:443", "[::]:0",
    "[2001:db8::1:0:0:1]:80", "[fe80::1%1]:22", "/tmp/sock", "unix:relative/sock", "@abstract",
    "unix:",
  ])
  func textRoundTrips(_ text: String) throws {
    let address = try SocketAddress(parsing: text)
    #expect(address.description == text)
    #expect(try SocketAddress(parsing: address.description) == address)
  }

  @Test func parsesTheUsualForms() throws {
    #expect(try SocketAddress(parsing: "127.0.0.1:8080") == .ipv4(.init(127, 0, 0, 1, port: 8080)))
    #expect(try SocketAddress(parsing: "[::1]:443") == .loopbackIPv6(port: 443))
    #expect(try SocketAddress(parsing: "unix:/tmp/sock") == SocketAddress.unixPath("/tmp/sock"))
    #expect(try SocketAddress(parsing: "unix:/tmp/sock").description == "/tmp/sock")
    #expect(try SocketAddress(parsing: "[fe80::1%lo]:80").description == "[fe80::1%1]:80")
    let v6 = try SocketAddress(parsing: "[2001:db8::ff]:1")
    guard case .ipv6(let address) = v6 else {
      Issue.record("not IPv6")
      return
    }
    #expect(address.bytes == [0x20, 0x01, 0x0d, 0xb8] + [UInt8](repeating: 0, count: 11) + [0xff])
    #expect(v6.port == 1)
    #expect(SocketAddress.loopbackIPv4(port: 9).withPort(10).port == 10)
  }

  @Test(arguments: [
    ("", SocketAddressError.Kind.empty),
    ("127.0.0.1", .missingPort),
    ("127.0.0.1:", .missingPort),
    ("127.0.0.1:65536", .invalidPort("65536")),
    ("127.0.0.1:-1", .invalidPort("-1")),
    ("127.0.0.1:http", .invalidPort("http")),
    ("localhost:80", .invalidIPv4Address("localhost")),
    ("1.2.3:80", .invalidIPv4Address("1.2.3")),
    ("::1:443", .ipv6WithoutBrackets),
    ("[::1]", .missingPort),
    ("[::1:443", .malformedBrackets),
    ("[::1]x:443", .malformedBrackets),
    ("[::g]:1", .invalidIPv6Address("::g")),
    ("[fe80::1%nosuchif0]:1", .unknownZone("nosuchif0")),
  ])
  func refusesBadInputWithATypedError(_ text: String, _ kind: SocketAddressError.Kind) {
    #expect {
      try SocketAddress(parsing: text)
    } throws: { error in
      guard let error = error as? SocketAddressError else { return false }
      return error.kind == kind && error.input == text && "\(error)".contains("socket address")
    }
    #expect((try? SocketAddress(parsing: text)) == nil)
  }

  @Test func refusesBadUnixPaths() {
    let long = "/" + String(repeating: "x", count: 107)
    #expect(throws: SocketAddressError(.unixPathTooLong(length: 108, maximum: 107), input: long)) {
      try SocketAddress(parsing: long)
    }
    #expect(throws: SocketAddressError(.emptyUnixPath, input: "")) {
      try SocketAddress.unixPath("")
    }
    #expect(throws: SocketAddressError.self) { try SocketAddress.unixPath("/a\u{0}b") }
  }
}
