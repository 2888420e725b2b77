import Glibc
import Synchronization
import Testing
import Uring

/// Whether io_uring works in the test process. Tests that need a ring are
/// enabled only when it does, so they show up as skipped (with the reason)
/// instead of passing silently.
enum UringSupport {
  /// `nil` when a minimal ring can be created here.
  static let unavailable: UringUnavailableError? = {
    do throws(UringUnavailableError) {
      _ = try Ring(options: .minimal)
      return nil
    } catch {
      return error
    }
  }()

  static var isAvailable: Bool { unavailable == nil }

  static var skipReason: Comment {
    Comment(
      rawValue: "io_uring is unavailable in the test process: \(unavailable.map { "\($0)" } ?? "")")
  }

  /// `/proc/sys/kernel/io_uring_disabled` (0 when absent, as before 6.6).
  static func sysctlDisabledValue() -> Int {
    let text = readSmallFile("/proc/sys/kernel/io_uring_disabled") ?? ""
    return Int(text.filter(\.isNumber)) ?? 0
  }
}

/// The whole content of a small file, or `nil` if it cannot be opened.
func readSmallFile(_ path: String) -> String? {
  let fd = open(path, O_RDONLY | O_CLOEXEC)
  guard fd >= 0 else { return nil }
  defer { close(fd) }
  return String(decoding: readToEnd(fd), as: UTF8.self)
}

/// Reads `fd` until end of file (retrying `EINTR`).
func readToEnd(_ fd: CInt) -> [UInt8] {
  var bytes: [UInt8] = []
  var chunk = [UInt8](repeating: 0, count: 4096)
  while true {
    let count = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
    if count > 0 {
      bytes += chunk[..<count]
    } else if count == 0 || errno != EINTR {
      return bytes
    }
  }
}

/// The `uring-probe` executable built next to this test executable.
enum ProbeExecutable {
  /// Where the test executable lives, from `/proc/self/exe`.
  static var testExecutable: String {
    var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
    let count = readlink("/proc/self/exe", &buffer, buffer.count - 1)
    guard count > 0 else { return "" }
    return String(decoding: buffer[..<count].map { UInt8(bitPattern: $0) }, as: UTF8.self)
  }

  /// The directories searched: the test executable's directory, then its
  /// parents (each also with a `debug/` child), a few levels up.
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

  /// The path of `uring-probe`, or `nil` if it was not built.
  static var path: String? {
    searchedDirectories.map { $0 + "/uring-probe" }.first { access($0, X_OK) == 0 }
  }

  static var notFoundMessage: Comment {
    Comment(
      rawValue: "uring-probe was not found next to the test executable \(testExecutable) "
        + "(searched \(searchedDirectories.joined(separator: ", "))). `swift test` should have "
        + "built it; build it with `swift build --scratch-path <same scratch path> "
        + "--product uring-probe` (same configuration and sanitizers) and rerun the tests.")
  }
}

/// What a child process printed and how it ended.
struct ChildOutput {
  /// The exit code, or `nil` if a signal ended the child.
  var exitCode: Int32?
  /// The raw wait status.
  var status: Int32
  var standardOutput: String
}

struct ChildProcessError: Error, CustomStringConvertible {
  var call: String
  var errno: Int32
  var description: String { "\(call) failed: \(String(cString: strerror(errno)))" }
}

private let spawnLock = Mutex(())

/// Runs `path` with `arguments` (and this process's environment), capturing its
/// standard output through a pipe; standard error is inherited unless silenced.
func runChild(
  _ path: String, _ arguments: [String], silenceStandardError: Bool = false
) throws(ChildProcessError) -> ChildOutput {
  var actions = posix_spawn_file_actions_t()
  posix_spawn_file_actions_init(&actions)
  defer { posix_spawn_file_actions_destroy(&actions) }
  if silenceStandardError {
    posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, "/dev/null", O_WRONLY, 0)
  }

  let argv = ([path] + arguments).map { strdup($0) } + [nil]
  defer { for pointer in argv { free(pointer) } }
  // The environment the process started with (`environ` is a global C variable
  // that Swift 6 refuses to read).
  let environment =
    (readSmallFile("/proc/self/environ") ?? "")
    .split(separator: "\0").map { strdup(String($0)) } + [nil]
  defer { for pointer in environment { free(pointer) } }

  // The pipe is made close-on-exec and the child spawned under one lock, so a
  // child spawned concurrently by another test never inherits this write end
  // (the read below would then wait for that child too). dup2 in the child
  // clears close-on-exec on its fd 1. (pipe2 is hidden behind _GNU_SOURCE.)
  var pipeFDs: [CInt] = [-1, -1]
  var pid = pid_t()
  try spawnLock.withLock { _ throws(ChildProcessError) in
    guard pipe(&pipeFDs) == 0 else { throw ChildProcessError(call: "pipe", errno: errno) }
    for fd in pipeFDs { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
    posix_spawn_file_actions_adddup2(&actions, pipeFDs[1], STDOUT_FILENO)
    let spawnResult = posix_spawn(&pid, path, &actions, nil, argv, environment)
    close(pipeFDs[1])
    if spawnResult != 0 {
      close(pipeFDs[0])
      throw ChildProcessError(call: "posix_spawn \(path)", errno: spawnResult)
    }
  }
  defer { close(pipeFDs[0]) }

  let output = String(decoding: readToEnd(pipeFDs[0]), as: UTF8.self)
  var status: CInt = 0
  while waitpid(pid, &status, 0) < 0 {
    guard errno == EINTR else { throw ChildProcessError(call: "waitpid", errno: errno) }
  }
  // WIFEXITED/WEXITSTATUS are function-like macros Swift cannot import.
  let exitCode: Int32? = status & 0x7f == 0 ? (status >> 8) & 0xff : nil
  return ChildOutput(exitCode: exitCode, status: status, standardOutput: output)
}
