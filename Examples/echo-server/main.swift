// echo-server: a TCP (or Unix-domain) echo server on one UringReactor.
//
//   echo-server [ADDRESS] [--connections N]
//
// ADDRESS defaults to 127.0.0.1:0 (any free port); it may be "[::1]:7",
// "/tmp/echo.sock"... The server prints "listening on ADDRESS" (with the port
// the kernel picked) on its first line, then echoes every byte it receives
// on every connection until the peer closes. With --connections N it exits
// after N connections have closed (tests use this to bound the run).
//
// Each connection is one task on the reactor: a multishot receive lends the
// received bytes from a provided-buffer ring, and `writeAll(_:)` sends them
// back from that same buffer, which returns to the ring once sent. No copy,
// no readiness polling.
import Glibc
import UringReactor

func fail(_ message: String) -> Never {
  var text = "echo-server: \(message)\n"
  text.withUTF8 { _ = write(2, $0.baseAddress, $0.count) }
  exit(1)
}

/// Parses the command line: the address text and the connection limit.
func parseArguments() -> (address: String, connectionLimit: Int?) {
  var address = "127.0.0.1:0"
  var limit: Int?
  var arguments = CommandLine.arguments.dropFirst()
  while let argument = arguments.popFirst() {
    switch argument {
    case "--connections":
      guard let value = arguments.popFirst().flatMap({ Int($0) }), value > 0 else {
        fail("--connections needs a positive number")
      }
      limit = value
    case "-h", "--help":
      say("usage: echo-server [ADDRESS] [--connections N]\n")
      exit(0)
    default:
      address = argument
    }
  }
  return (address, limit)
}

/// Writes `text` to standard output at once (no stdio buffering: the first
/// line is what a test waits for).
func say(_ text: String) {
  var text = text
  text.withUTF8 { _ = write(1, $0.baseAddress, $0.count) }
}

let (addressText, connectionLimit) = parseArguments()

let address: SocketAddress
do {
  address = try SocketAddress(parsing: addressText)
} catch {
  fail("\(error)")
}

let reactor: Reactor
do {
  reactor = try Reactor()
} catch {
  fail("\(error)")
}

/// Echoes until the peer closes its writing half (or the connection fails).
func serve(_ connection: SocketStream) async {
  do {
    while let bytes = try await connection.receive() {
      try await connection.writeAll(bytes)
    }
    try await connection.shutdown(.write)
  } catch {
    // A peer that vanished (reset, broken pipe): only this connection ends.
  }
  try? await connection.close()
}

let exitCode = await Task(executorPreference: reactor) { () async -> Int32 in
  do {
    if case .unix(let path) = address, !path.isAbstract {
      unlink(path.path)  // A stale socket file from an earlier run.
    }
    let listener = try await SocketListener.listen(on: address, on: reactor)
    say("listening on \(listener.localAddress)\n")
    await withDiscardingTaskGroup { group in
      var accepted = 0
      do {
        for try await connection in listener.connections {
          group.addTask(executorPreference: reactor) { await serve(connection) }
          accepted += 1
          if let connectionLimit, accepted >= connectionLimit { break }
        }
      } catch {
        fail("accepting: \(error)")
      }
    }
    try await listener.close()
    return 0
  } catch {
    fail("\(error)")
  }
}.value
await reactor.shutdown()
exit(exitCode)
