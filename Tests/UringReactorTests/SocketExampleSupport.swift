import Glibc
import TestSupport
import Testing

@testable import UringReactor

/// The example executables (`echo-server`, `http-server`) built next to this
/// test executable, and the client tools (`nc`, `socat`, `wrk`) found on `PATH`.
enum SocketExamples {
  static func path(_ name: String) -> String? { BuiltExecutable.path(name) }
  static func tool(_ name: String) -> String? { BuiltExecutable.tool(name) }

  /// Whether `tools` and the example are there; prints why not (a visible skip).
  static func available(example: String, tools: [String]) -> Bool {
    guard path(example) != nil else {
      print("skipping: " + BuiltExecutable.notFound(example))
      return false
    }
    for tool in tools where self.tool(tool) == nil {
      print("skipping: `\(tool)` is not installed (apt-get install wrk socat netcat-openbsd)")
      return false
    }
    return true
  }
}

/// Starts an example server on a free loopback port and returns it with the
/// address it printed on its first line.
func startExampleServer(_ name: String, _ arguments: [String]) throws -> (
  ChildProcess, SocketAddress
) {
  let server = try ChildProcess(SocketExamples.path(name)!, ["127.0.0.1:0"] + arguments)
  let line = server.readLine() ?? ""
  guard line.hasPrefix("listening on "),
    let address = try? SocketAddress(parsing: String(line.dropFirst("listening on ".count)))
  else {
    throw RawSocketError(call: "\(name) printed '\(line)'", errno: 0)
  }
  return (server, address)
}

/// Writes `bytes` to a new temporary file and returns its path.
func temporaryFile(_ name: String, _ bytes: [UInt8]) -> String {
  let path = "/tmp/uring-reactor-test-\(getpid())-\(name)"
  let fd = open(path, O_CREAT | O_TRUNC | O_WRONLY | O_CLOEXEC, 0o600)
  _ = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
  close(fd)
  return path
}
