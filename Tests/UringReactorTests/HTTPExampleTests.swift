import Glibc
import TestSupport
import Testing

@testable import UringReactor

/// The http-server example, driven by `wrk` (keep-alive, many requests per
/// connection) and by a plain socket (pipelining, `Connection: close`).
@Suite(.requiresUring, .sharesProcess, .serialized)
struct HTTPExampleTests {
  static let response =
    "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 14\r\n\r\n"
    + "Hello, world!\n"

  @Test(.enabled(if: SocketExamples.available(example: "http-server", tools: ["wrk"])))
  func wrkGetsEveryResponseWithKeepAlive() throws {
    try Self.runWrk(serverArguments: [], threads: 1, connections: 8)
  }

  /// `--reactors 2`: a group listener; `wrk`'s connections are all answered.
  @Test(.enabled(if: SocketExamples.available(example: "http-server", tools: ["wrk"])))
  func wrkGetsEveryResponseFromAGroupOfReactors() throws {
    try Self.runWrk(serverArguments: ["--reactors", "2"], threads: 2, connections: 16)
  }

  /// Starts the server with `serverArguments`, runs `wrk` against it for
  /// one second (a bounded run), stops the server with `SIGTERM`, and checks
  /// that every request got a 2xx response.
  static func runWrk(serverArguments: [String], threads: Int, connections: Int) throws {
    let (server, address) = try startExampleServer("http-server", serverArguments)
    let wrk = try ChildProcess(
      SocketExamples.tool("wrk")!,
      [
        "-t", "\(threads)", "-c", "\(connections)", "-d", "1s",
        "http://127.0.0.1:\(address.port ?? 0)/",
      ])
    expectEveryResponse(of: wrk, moreThan: connections)
    server.terminate()
    #expect(server.wait() == nil, "stopped by SIGTERM, not crashed")
  }

  /// `--reactors 2 --connections 6`: six clients answered, then the server
  /// closes its listeners and exits cleanly.
  @Test(.enabled(if: SocketExamples.available(example: "http-server", tools: [])))
  func aGroupOfReactorsServesItsConnectionLimitThenExits() throws {
    let (server, address) = try startExampleServer(
      "http-server", ["--reactors", "2", "--connections", "6"])
    let closing = Self.response.replacingHeaderEnd(with: "Connection: close\r\n\r\n")
    for _ in 0..<6 {
      let client = try RawSocket(connectingTo: address)
      try client.send(Array("GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".utf8))
      #expect(String(decoding: try client.receive(1 << 16), as: UTF8.self) == closing)
    }
    #expect(server.wait() == 0)
  }

  /// Also with `--two-writes` (each response as two sends, head then body):
  /// the same bytes, in order.
  @Test(
    .enabled(if: SocketExamples.available(example: "http-server", tools: [])),
    arguments: [[], ["--two-writes"]])
  func pipelinedRequestsThenClose(writes: [String]) throws {
    let (server, address) = try startExampleServer("http-server", ["--connections", "1"] + writes)
    let client = try RawSocket(connectingTo: address)
    let get = "GET / HTTP/1.1\r\nHost: x\r\n\r\n"
    let post = "POST /a HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello"
    let close = "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    try client.send(Array((get + post + close).utf8))
    let answer = String(decoding: try client.receive(1 << 16), as: UTF8.self)
    let closing = Self.response.replacingHeaderEnd(with: "Connection: close\r\n\r\n")
    #expect(answer == Self.response + Self.response + closing)
    #expect(server.wait() == 0)
  }
}

extension String {
  /// The response with `tail` in place of its blank line (an extra header).
  func replacingHeaderEnd(with tail: String) -> String {
    guard let range = firstRange(of: "\r\n\r\n") else { return self }
    return String(self[..<range.lowerBound]) + "\r\n" + tail + String(self[range.upperBound...])
  }
}
