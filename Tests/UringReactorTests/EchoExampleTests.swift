import Glibc
import TestSupport
import Testing

@testable import UringReactor

/// The echo-server example, driven by clients nobody here wrote: OpenBSD
/// netcat and socat.
@Suite(
  .requiresUring, .sharesProcess, .serialized,
  .enabled(if: SocketExamples.available(example: "echo-server", tools: ["nc", "socat"])))
struct EchoExampleTests {
  @Test func echoesNetcatAndSocatByteForByte() throws {
    let (server, address) = try startExampleServer("echo-server", ["--connections", "2"])
    let port = "\(address.port ?? 0)"
    // netcat: a line, then end of input (-N shuts the socket's writing half).
    let line = temporaryFile("echo-line", Array("hello, echo\n".utf8))
    defer { unlink(line) }
    let nc = try ChildProcess(
      SocketExamples.tool("nc")!, ["-N", "127.0.0.1", port], inputPath: line)
    #expect(nc.readAll() == Array("hello, echo\n".utf8))
    #expect(nc.wait() == 0)
    // socat: 1 MiB of random bytes, every one back in order.
    var random = SeededRandom(seed: 11)
    let payload = random.bytes(1 << 20)
    let file = temporaryFile("echo-payload", payload)
    defer { unlink(file) }
    let socat = try ChildProcess(
      SocketExamples.tool("socat")!, ["-t", "10", "-", "TCP:127.0.0.1:\(port)"],
      inputPath: file)
    let back = socat.readAll()
    #expect(back.count == payload.count)
    #expect(back == payload)
    #expect(socat.wait() == 0)
    // Both connections closed: the server exits on its own.
    #expect(server.wait() == 0)
  }
}
