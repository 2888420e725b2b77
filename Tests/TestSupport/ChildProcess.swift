import Glibc

/// A child process with its standard output on a pipe; standard error is
/// inherited (or silenced), standard input comes from a file.
///
/// The child gets this process's environment as it started (sanitizer
/// options must reach it; `posix_spawn` with a nil `envp` would give it none).
/// A child still running when this object goes (a failed test) is killed,
/// never left behind.
public final class ChildProcess {
  public let pid: pid_t
  /// The read end of its standard output.
  public let output: CInt

  /// Starts `path` with `arguments`; its standard input comes from
  /// `inputPath`.
  public init(
    _ path: String, _ arguments: [String], inputPath: String = "/dev/null",
    silenceStandardError: Bool = false
  ) throws(ChildProcessError) {
    var actions = unsafe posix_spawn_file_actions_t()
    unsafe posix_spawn_file_actions_init(&actions)
    defer { unsafe posix_spawn_file_actions_destroy(&actions) }
    unsafe posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, inputPath, O_RDONLY, 0)
    if silenceStandardError {
      unsafe posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, "/dev/null", O_WRONLY, 0)
    }
    let argv = unsafe ([path] + arguments).map { unsafe strdup($0) } + [nil]
    defer { for index in unsafe argv.indices { unsafe free(argv[index]) } }
    let environment = unsafe inheritedEnvironment()
    defer { for index in unsafe environment.indices { unsafe free(environment[index]) } }

    // The pipe is made close-on-exec and the child spawned under one lock, so
    // a child spawned concurrently by another test never inherits this write
    // end (reading to the end would then wait for that child too). dup2 in
    // the child clears close-on-exec on its fd 1.
    var fds: [CInt] = [-1, -1]
    var pid = pid_t()
    try spawnLock.withLock { _ throws(ChildProcessError) in
      guard unsafe pipe(&fds) == 0 else { throw ChildProcessError(call: "pipe", errno: errno) }
      for fd in fds { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
      unsafe posix_spawn_file_actions_adddup2(&actions, fds[1], STDOUT_FILENO)
      let result = unsafe posix_spawn(&pid, path, &actions, nil, argv, environment)
      close(fds[1])
      guard result == 0 else {
        close(fds[0])
        throw ChildProcessError(call: "posix_spawn \(path)", errno: result)
      }
    }
    self.pid = pid
    self.output = fds[0]
  }

  deinit {
    close(output)
    var status: CInt = 0
    if unsafe waitpid(pid, &status, WNOHANG) == 0 {
      kill(pid, SIGKILL)
      _ = unsafe waitpid(pid, &status, 0)
    }
  }

  /// Runs `path` to its end and returns what it printed and how it ended.
  public static func run(
    _ path: String, _ arguments: [String], silenceStandardError: Bool = false
  ) throws(ChildProcessError) -> ChildOutput {
    let child = try ChildProcess(path, arguments, silenceStandardError: silenceStandardError)
    let text = String(decoding: child.readAll(), as: UTF8.self)
    let status = try child.waitStatus()
    return ChildOutput(status: status, standardOutput: text)
  }

  /// Like ``run(_:_:silenceStandardError:)``, but never waits longer than
  /// `timeLimit`: a child that has not closed its output by then is killed
  /// (`SIGKILL`) and the result says ``ChildOutput/timedOut``. For programs
  /// that could hang; the limit is a bound, not a measurement.
  public static func run(
    _ path: String, _ arguments: [String], timeLimit: Duration,
    silenceStandardError: Bool = false
  ) throws(ChildProcessError) -> ChildOutput {
    let child = try ChildProcess(path, arguments, silenceStandardError: silenceStandardError)
    let deadline = ContinuousClock.now + timeLimit
    var bytes: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 65_536)
    var timedOut = false
    while true {
      let left = ContinuousClock.now.duration(to: deadline)
      if left <= .zero {
        timedOut = true
        kill(child.pid, SIGKILL)
        bytes += child.readAll()
        break
      }
      var ready = pollfd(fd: child.output, events: Int16(POLLIN), revents: 0)
      let milliseconds = CInt(clamping: left.components.seconds * 1000 + 1)
      if unsafe poll(&ready, 1, milliseconds) <= 0 { continue }
      let count = unsafe chunk.withUnsafeMutableBytes {
        unsafe read(child.output, $0.baseAddress, $0.count)
      }
      if count > 0 {
        bytes += chunk[..<count]
      } else if count == 0 || errno != EINTR {
        break
      }
    }
    let status = try child.waitStatus()
    return ChildOutput(
      status: status, standardOutput: String(decoding: bytes, as: UTF8.self), timedOut: timedOut)
  }

  /// Reads one line of its output (without the newline); `nil` at end.
  public func readLine() -> String? {
    var line: [UInt8] = []
    var byte: UInt8 = 0
    while unsafe read(output, &byte, 1) == 1 {
      if byte == UInt8(ascii: "\n") { return String(decoding: line, as: UTF8.self) }
      line.append(byte)
    }
    return line.isEmpty ? nil : String(decoding: line, as: UTF8.self)
  }

  /// Reads its output until it closes it.
  public func readAll() -> [UInt8] { readToEnd(output) }

  /// Waits for it to end; its exit code, or `nil` if a signal ended it.
  public func wait() -> CInt? {
    (try? waitStatus()).flatMap { ChildOutput(status: $0, standardOutput: "").exitCode }
  }

  /// Waits for it to end; the raw wait status.
  public func waitStatus() throws(ChildProcessError) -> CInt {
    var status: CInt = 0
    while unsafe waitpid(pid, &status, 0) < 0 {
      guard errno == EINTR else { throw ChildProcessError(call: "waitpid", errno: errno) }
    }
    return status
  }

  /// Asks it to stop (`SIGTERM`).
  public func terminate() {
    kill(pid, SIGTERM)
  }
}

private let spawnLock = PthreadLocked(())

/// What a child process printed and how it ended.
public struct ChildOutput: Sendable {
  /// The raw wait status.
  public var status: Int32
  public var standardOutput: String
  /// It was killed for running past its time limit.
  public var timedOut = false
  /// The exit code, or `nil` if a signal ended the child (`WIFEXITED` and
  /// `WEXITSTATUS` are function-like macros Swift cannot import).
  public var exitCode: Int32? { status & 0x7f == 0 ? (status >> 8) & 0xff : nil }
}

public struct ChildProcessError: Error, CustomStringConvertible {
  public var call: String
  public var errno: Int32
  public init(call: String, errno: Int32) {
    self.call = call
    self.errno = errno
  }
  public var description: String { unsafe "\(call) failed: \(String(cString: strerror(errno)))" }
}
