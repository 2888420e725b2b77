import Glibc
import Testing

@testable import UringReactor

/// Runs the `global-executor` example (built next to this test executable), a
/// program that adopts the reactors as its global and main executors.
@Suite(.requiresUring)
struct GlobalExecutorTests {
  @Test func exampleRunsEverythingOnReactorThreadsAndExitsCleanly() throws {
    let path = try #require(ExampleExecutable.path, ExampleExecutable.notFoundMessage)
    let output = try runExample(path)
    #expect(output.exitCode == 0, "wait status \(output.status), stdout: \(output.text)")
    let lines = output.text.split(separator: "\n").map(String.init)
    let reports = lines.filter { $0.hasPrefix("context=") }
    func fields(_ line: String) -> [String: String] {
      var result: [String: String] = [:]
      for part in line.split(separator: "|") {
        let pair = trimmed(part).split(separator: "=", maxSplits: 1)
        if pair.count == 2 { result[String(pair[0])] = String(pair[1]) }
      }
      return result
    }
    let parsed = reports.map(fields)
    let expected = [
      "async entry point", "after Task.sleep (ContinuousClock)",
      "after Task.sleep (SuspendingClock)", "Task {}", "Task.detached after Task.sleep",
      "@MainActor", "@MainActor after Task.sleep", "actor method", "actor counted 3",
      "task group child 0", "after reactor.nop()", "offloaded work ran off the reactors: true",
    ]
    for context in expected {
      #expect(parsed.contains { $0["context"] == context }, "missing: \(context)")
    }
    for report in parsed {
      let reactor = report["reactor"] ?? "none"
      #expect(reactor.hasPrefix("uring-"), "not on a reactor: \(report)")
      if reactor != "uring-0" {
        #expect(report["thread"] == reactor, "thread name differs: \(report)")
      }
      if report["context"]?.hasPrefix("@MainActor") == true {
        #expect(report["main-thread"] == "yes" && reactor == "uring-0", "\(report)")
      }
    }
    #expect(lines.last?.hasPrefix("done: ") == true)
  }
}

/// `text` without leading and trailing spaces.
private func trimmed(_ text: Substring) -> String {
  String(String(text.drop { $0 == " " }.reversed().drop { $0 == " " }).reversed())
}

/// The `global-executor` example built next to this test executable.
enum ExampleExecutable {
  static var testExecutable: String {
    var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
    let count = readlink("/proc/self/exe", &buffer, buffer.count - 1)
    guard count > 0 else { return "" }
    return String(decoding: buffer[..<count].map { UInt8(bitPattern: $0) }, as: UTF8.self)
  }

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

  static var path: String? {
    searchedDirectories.map { $0 + "/global-executor" }.first { access($0, X_OK) == 0 }
  }

  static var notFoundMessage: Comment {
    Comment(
      rawValue: "global-executor was not found next to \(testExecutable); build it with "
        + "`swift build --scratch-path <same scratch path> --product global-executor`.")
  }
}

/// Runs `path` and captures its standard output (standard error is inherited).
private func runExample(_ path: String) throws -> (exitCode: Int32?, status: Int32, text: String) {
  var fds: [CInt] = [-1, -1]
  guard pipe(&fds) == 0 else { throw ExampleError.pipe(errno) }
  for fd in fds { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
  var actions = posix_spawn_file_actions_t()
  posix_spawn_file_actions_init(&actions)
  defer { posix_spawn_file_actions_destroy(&actions) }
  posix_spawn_file_actions_adddup2(&actions, fds[1], STDOUT_FILENO)
  let argv: [UnsafeMutablePointer<CChar>?] = [strdup(path), nil]
  defer { free(argv[0]) }
  var pid = pid_t()
  let environment = inheritedEnvironment()
  defer { for entry in environment { free(entry) } }
  let spawned = posix_spawn(&pid, path, &actions, nil, argv, environment)
  close(fds[1])
  defer { close(fds[0]) }
  guard spawned == 0 else { throw ExampleError.spawn(spawned) }
  var bytes: [UInt8] = []
  var chunk = [UInt8](repeating: 0, count: 4096)
  while true {
    let count = chunk.withUnsafeMutableBytes { read(fds[0], $0.baseAddress, $0.count) }
    if count > 0 {
      bytes += chunk[..<count]
    } else if count == 0 || errno != EINTR {
      break
    }
  }
  var status: CInt = 0
  while waitpid(pid, &status, 0) < 0 {
    guard errno == EINTR else { throw ExampleError.wait(errno) }
  }
  let exitCode: Int32? = status & 0x7f == 0 ? (status >> 8) & 0xff : nil
  return (exitCode, status, String(decoding: bytes, as: UTF8.self))
}

enum ExampleError: Error {
  case pipe(Int32)
  case spawn(Int32)
  case wait(Int32)
}
