import Glibc
import Testing

@testable import UringReactor

/// The example executables (`echo-server`, `http-server`) built next to this
/// test executable, and the client tools (`nc`, `socat`, `wrk`) found on `PATH`.
enum SocketExamples {
  /// Where the test executable lives, from `/proc/self/exe`.
  static var testExecutable: String {
    var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
    let count = readlink("/proc/self/exe", &buffer, buffer.count - 1)
    guard count > 0 else { return "" }
    return String(decoding: buffer[..<count].map { UInt8(bitPattern: $0) }, as: UTF8.self)
  }

  /// The test executable's directory and its parents (each also with a
  /// `debug/` child), a few levels up.
  static var searchedDirectories: [String] {
    var directories: [String] = []
    var path = testExecutable
    while directories.count < 8, let slash = path.lastIndex(of: "/"), slash != path.startIndex {
      path = String(path[..<slash])
      directories.append(path)
      directories.append(path + "/debug")
    }
    return directories
  }

  /// The path of example `name`, or `nil` if it was not built.
  static func path(_ name: String) -> String? {
    searchedDirectories.map { $0 + "/" + name }.first { access($0, X_OK) == 0 }
  }

  /// The path of tool `name` on `PATH`, or `nil`.
  static func tool(_ name: String) -> String? {
    let path = getenv("PATH").map { String(cString: $0) } ?? "/usr/bin:/bin"
    return path.split(separator: ":").map { "\($0)/\(name)" }.first { access($0, X_OK) == 0 }
  }

  /// Whether `tools` and the example are there; prints why not (a visible skip).
  static func available(example: String, tools: [String]) -> Bool {
    guard path(example) != nil else {
      print(
        "skipping: \(example) was not built next to \(testExecutable) "
          + "(build it with the same scratch path: swift build --product \(example))")
      return false
    }
    for tool in tools where self.tool(tool) == nil {
      print("skipping: `\(tool)` is not installed (apt-get install wrk socat netcat-openbsd)")
      return false
    }
    return true
  }
}

/// A child process with its standard output on a pipe.
final class ChildProcess {
  let pid: pid_t
  /// The read end of its standard output.
  let output: CInt

  /// Starts `path` with `arguments`; its standard input comes from
  /// `inputPath` (or `/dev/null`).
  init(_ path: String, _ arguments: [String], inputPath: String = "/dev/null") throws {
    var actions = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    defer { posix_spawn_file_actions_destroy(&actions) }
    var fds: [CInt] = [-1, -1]
    guard pipe(&fds) == 0 else { throw RawSocketError(call: "pipe", errno: errno) }
    for fd in fds { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
    posix_spawn_file_actions_adddup2(&actions, fds[1], STDOUT_FILENO)
    posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, inputPath, O_RDONLY, 0)
    let argv = ([path] + arguments).map { strdup($0) } + [nil]
    defer { for pointer in argv { free(pointer) } }
    var pid = pid_t()
    let environment = inheritedEnvironment()
    defer { for entry in environment { free(entry) } }
    let result = posix_spawn(&pid, path, &actions, nil, argv, environment)
    close(fds[1])
    guard result == 0 else {
      close(fds[0])
      throw RawSocketError(call: "posix_spawn \(path)", errno: result)
    }
    self.pid = pid
    self.output = fds[0]
  }

  deinit {
    close(output)
    // A child still running (a failed test) is stopped, never left behind.
    var status: CInt = 0
    if waitpid(pid, &status, WNOHANG) == 0 {
      kill(pid, SIGKILL)
      _ = waitpid(pid, &status, 0)
    }
  }

  /// Reads one line of its output (without the newline); `nil` at end.
  func readLine() -> String? {
    var line: [UInt8] = []
    var byte: UInt8 = 0
    while read(output, &byte, 1) == 1 {
      if byte == UInt8(ascii: "\n") { return String(decoding: line, as: UTF8.self) }
      line.append(byte)
    }
    return line.isEmpty ? nil : String(decoding: line, as: UTF8.self)
  }

  /// Reads its output until it closes it.
  func readAll() -> [UInt8] {
    var bytes: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 65_536)
    while true {
      let count = chunk.withUnsafeMutableBytes { read(output, $0.baseAddress, $0.count) }
      if count > 0 {
        bytes += chunk[..<count]
      } else if count == 0 || errno != EINTR {
        return bytes
      }
    }
  }

  /// Waits for it to end; its exit code, or `nil` if a signal ended it.
  func wait() -> CInt? {
    var status: CInt = 0
    while waitpid(pid, &status, 0) < 0, errno == EINTR {}
    return status & 0x7f == 0 ? (status >> 8) & 0xff : nil
  }

  /// Asks it to stop (`SIGTERM`).
  func terminate() {
    kill(pid, SIGTERM)
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
    let address = SocketAddress(String(line.dropFirst("listening on ".count)))
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
