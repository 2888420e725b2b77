import Glibc

/// A program a workload runs as a child process: SwiftNIO's servers of the
/// Benchmarks/ package (uring-bench itself depends on nothing but the
/// toolchain and liburing, so SwiftNIO runs next door) and the reactor's
/// `http-server` example.
struct ChildProgram: Sendable {
  /// The executable's name, e.g. `nio-echo-server`.
  let name: String
  /// The environment variable that may name the executable's path.
  let variable: String
  /// How to build it, for the message when it is missing.
  let howToBuild: String
  /// `true`: the program follows the protocol of the Benchmarks/ servers
  /// (`cpu` on its stdin answers `cpu NANOSECONDS`; it exits when its stdin
  /// closes). `false`: its CPU time is read through its process CPU clock and
  /// it is stopped with SIGTERM.
  let controlledByStdin: Bool
  /// Where the executable was found, `nil` if it was not built: `$variable`,
  /// else `relative` from the current directory (if `searchCurrentDirectory`)
  /// or from the directory of this uring-bench's executable and its first
  /// `ancestors` ancestors.
  let path: String?

  init(
    name: String, variable: String, relative: String, searchCurrentDirectory: Bool,
    ancestors: Int, howToBuild: String, controlledByStdin: Bool
  ) {
    self.name = name
    self.variable = variable
    self.howToBuild = howToBuild
    self.controlledByStdin = controlledByStdin
    if let value = unsafe getenv(variable) {
      let path = unsafe String(cString: value)
      self.path = ChildProgram.isExecutable(path) ? path : nil
      return
    }
    var candidates = searchCurrentDirectory ? [relative] : []
    var link = [CChar](repeating: 0, count: 4096)
    let length = unsafe readlink("/proc/self/exe", &link, link.count - 1)
    if length > 0 {
      let bytes = link.prefix(length).map { UInt8(bitPattern: $0) }
      var directory = String(decoding: bytes, as: UTF8.self)
      // <checkout>/.build/<triple>/release/uring-bench, or .build/release/.
      for _ in 0...ancestors {
        guard let slash = directory.lastIndex(of: "/") else { break }
        directory = String(directory[..<slash])
        candidates.append(directory + "/" + relative)
      }
    }
    path = candidates.first(where: ChildProgram.isExecutable)
  }

  /// A Benchmarks/ package product, found in Benchmarks/.build/release/.
  static func benchmarks(_ name: String, variable: String) -> ChildProgram {
    ChildProgram(
      name: name, variable: variable, relative: "Benchmarks/.build/release/" + name,
      searchCurrentDirectory: true, ancestors: 3,
      howToBuild: "build it with `swift build -c release --package-path Benchmarks --product "
        + "\(name)` (./scripts/bench.sh does), or point \(variable) at it",
      controlledByStdin: true)
  }

  /// SwiftNIO's echo servers (systems `nio`, `nio-async-channel`).
  static let nioEcho = benchmarks("nio-echo-server", variable: "URING_BENCH_NIO_ECHO_SERVER")

  private static func isExecutable(_ path: String) -> Bool {
    var status = stat()
    return unsafe stat(path, &status) == 0 && status.st_mode & S_IFMT == S_IFREG
      && access(path, X_OK) == 0
  }
}

/// A server as a child process, e.g. SwiftNIO's echo server for the systems
/// `nio` and `nio-async-channel`. The child inherits the spawning thread's
/// CPU affinity.
///
/// The child prints its port as the last digits of its first line (`port N`,
/// `listening on 127.0.0.1:N`); see ``ChildProgram/controlledByStdin`` for the
/// rest (Benchmarks/Sources/nio-echo-server/main.swift).
final class ServerProcess {
  let program: ChildProgram
  let pid: pid_t
  private(set) var port: UInt16
  private let input: CInt
  private let output: CInt
  private var pending: [UInt8] = []

  /// Spawns `program` with `arguments` and reads its port.
  init(_ program: ChildProgram, arguments: [String]) throws(BenchError) {
    self.program = program
    guard let path = program.path else {
      throw BenchError("\(program.name) not found: " + program.howToBuild)
    }
    let (child, input, output) = try ServerProcess.spawn([path] + arguments)
    pid = child
    self.input = input
    self.output = output
    port = 0
    let line = readLine()
    let digits = String(line?.reversed().prefix(while: \.isASCIIDigit).reversed() ?? [])
    guard let port = UInt16(digits), port != 0 else {
      stop()
      throw BenchError(
        "\(program.name) \(arguments.joined(separator: " ")) did not start "
          + "(said: \(line ?? "nothing"))")
    }
    self.port = port
  }

  /// Spawns `arguments` (the first one the executable's path) with a pipe
  /// to its stdin and one from its stdout; returns the child's pid and the
  /// parent's ends of the pipes.
  static func spawn(_ arguments: [String]) throws(BenchError) -> (
    pid: pid_t, input: CInt, output: CInt
  ) {
    var toChild: [CInt] = [-1, -1]
    var fromChild: [CInt] = [-1, -1]
    guard unsafe pipe(&toChild) == 0 else { throw BenchError("pipe: errno \(errno)") }
    guard unsafe pipe(&fromChild) == 0 else {
      Glibc.close(toChild[0])
      Glibc.close(toChild[1])
      throw BenchError("pipe: errno \(errno)")
    }
    // Close-on-exec (no pipe2 in Glibc's module): the child gets only the
    // two ends dup2'ed to its stdin and stdout.
    for fd in toChild + fromChild { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
    var actions = unsafe posix_spawn_file_actions_t()
    unsafe posix_spawn_file_actions_init(&actions)
    unsafe posix_spawn_file_actions_adddup2(&actions, toChild[0], 0)
    unsafe posix_spawn_file_actions_adddup2(&actions, fromChild[1], 1)
    // No signal blocked, SIGINT and SIGTERM at their default actions: the
    // spawning thread may block most signals (threads of the Swift runtime
    // do), and a child inherits that mask, which would make it deaf to the
    // SIGINT and SIGTERM it is stopped with.
    var attributes = posix_spawnattr_t()
    unsafe posix_spawnattr_init(&attributes)
    var unblocked = sigset_t()
    unsafe sigemptyset(&unblocked)
    unsafe posix_spawnattr_setsigmask(&attributes, &unblocked)
    var defaults = sigset_t()
    unsafe sigemptyset(&defaults)
    unsafe sigaddset(&defaults, SIGINT)
    unsafe sigaddset(&defaults, SIGTERM)
    unsafe posix_spawnattr_setsigdefault(&attributes, &defaults)
    unsafe posix_spawnattr_setflags(
      &attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))
    var argv: [UnsafeMutablePointer<CChar>?] = unsafe arguments.map { unsafe strdup($0) } + [nil]
    var child: pid_t = 0
    let spawned = unsafe posix_spawn(&child, arguments[0], &actions, &attributes, &argv, environ)
    for index in unsafe argv.indices { unsafe free(argv[index]) }
    unsafe posix_spawnattr_destroy(&attributes)
    unsafe posix_spawn_file_actions_destroy(&actions)
    Glibc.close(toChild[0])
    Glibc.close(fromChild[1])
    guard spawned == 0 else {
      Glibc.close(toChild[1])
      Glibc.close(fromChild[0])
      throw BenchError("cannot spawn \(arguments[0]): errno \(spawned)")
    }
    return (child, toChild[1], fromChild[0])
  }

  /// The child's CPU time so far (every thread).
  func cpu() throws(BenchError) -> Duration {
    guard program.controlledByStdin else { return try ServerProcess.cpu(of: pid) }
    let command: [UInt8] = Array("cpu\n".utf8)
    guard
      unsafe command.withUnsafeBytes({ unsafe write(input, $0.baseAddress, $0.count) })
        == command.count,
      let line = readLine(), line.hasPrefix("cpu "), let nanoseconds = Int64(line.dropFirst(4)),
      nanoseconds >= 0
    else { throw BenchError("\(program.name) did not report its CPU time") }
    return .nanoseconds(nanoseconds)
  }

  /// The CPU time so far of process `pid` (every thread), from its process
  /// CPU clock.
  static func cpu(of pid: pid_t) throws(BenchError) -> Duration {
    var clock = clockid_t()
    let error = unsafe clock_getcpuclockid(pid, &clock)
    guard error == 0 else { throw BenchError("clock_getcpuclockid(\(pid)): errno \(error)") }
    guard let time = CPUTime.read(clock) else {
      throw BenchError("CPU clock of process \(pid): errno \(errno)")
    }
    return time
  }

  /// Closes the child's stdin (it exits), or sends it SIGTERM, and reaps it.
  func stop() {
    Glibc.close(input)
    if !program.controlledByStdin { kill(pid, SIGTERM) }
    var status: CInt = 0
    while unsafe waitpid(pid, &status, 0) < 0 && errno == EINTR {}
    Glibc.close(output)
  }

  /// One line of the child's stdout, without its newline; `nil` at its end.
  private func readLine() -> String? {
    var chunk = [UInt8](repeating: 0, count: 256)
    while true {
      if let newline = pending.firstIndex(of: UInt8(ascii: "\n")) {
        let line = String(decoding: pending[..<newline], as: UTF8.self)
        pending.removeFirst(newline + 1)
        return line
      }
      let count = unsafe chunk.withUnsafeMutableBytes {
        unsafe read(output, $0.baseAddress, $0.count)
      }
      if count < 0 && errno == EINTR { continue }
      guard count > 0 else { return nil }
      pending += chunk[..<count]
    }
  }
}

extension Character {
  fileprivate var isASCIIDigit: Bool { isASCII && isWholeNumber }
}
