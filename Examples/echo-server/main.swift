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
// Each connection is one task on the reactor (`SocketListener.serve`): a
// multishot receive lends the received bytes from a provided-buffer ring,
// and `writeAll(_:)` sends them back from that same buffer, which returns to
// the ring once sent. No copy, no readiness polling.
import Glibc
import ServerCommandLine
import UringReactor

/// Echoes until the peer closes its writing half (or the connection fails).
@Sendable func serve(_ connection: SocketStream) async {
  do {
    while let bytes = try await connection.receive() {
      try await connection.writeAll(bytes)
    }
    try await connection.shutdown(.write)
  } catch {
    // A peer that vanished (reset, broken pipe): only this connection ends.
  }
}

let command = ServerCommandLine(name: "echo-server")
if case .unix(let path) = command.address, !path.isAbstract {
  unsafe unlink(path.path)  // A stale socket file from an earlier run.
}
exit(await command.serve(serve))
