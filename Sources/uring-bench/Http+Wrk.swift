import Glibc

/// `wrk` (Debian's package), the HTTP load generator of the http workloads,
/// as a child process: 1 thread, N keep-alive connections, interrupted once
/// the run's time is up.
enum Wrk {
  /// Where `wrk` is: `$URING_BENCH_WRK`, else the first `wrk` on `$PATH`;
  /// `nil` if it is not installed.
  static let path = executable("wrk", variable: "URING_BENCH_WRK")

  /// Where the program `name` is: `$variable` if set, else the first `name`
  /// on `$PATH`; `nil` if it is not installed.
  static func executable(_ name: String, variable: String) -> String? {
    if let value = unsafe getenv(variable) {
      let path = unsafe String(cString: value)
      return unsafe access(path, X_OK) == 0 ? path : nil
    }
    let directories = unsafe getenv("PATH").map { unsafe String(cString: $0) } ?? "/usr/bin:/bin"
    return directories.split(separator: ":").map { $0 + "/" + name }.first {
      unsafe access($0, X_OK) == 0
    }
  }

  static let howToInstall = "install it with `apt-get install wrk` (CI does)"

  /// Runs `wrk -t1 -c connections` against `http://127.0.0.1:port/` for about
  /// `length` and returns the requests it completed over its run time.
  ///
  /// wrk's `-d` takes whole seconds, so it is given a long one and sent
  /// SIGINT when `length` is up: it then stops at its next 100 ms tick and
  /// prints its figures as at the end of a run. The signal waits until wrk
  /// has installed its SIGINT handler (`SigCgt` in /proc/PID/status), which
  /// it does once its connections are started; before that SIGINT would
  /// kill it.
  static func run(port: UInt16, connections: Int, for length: Duration) throws(BenchError)
    -> Sample
  {
    guard let path else { throw BenchError("wrk not found: " + howToInstall) }
    let seconds = Int(length.seconds.rounded(.up)) + 5
    let (pid, input, output) = try ServerProcess.spawn([
      path, "-t1", "-c\(connections)", "-d\(seconds)s", "--timeout", "10s",
      "http://127.0.0.1:\(port)/",
    ])
    close(input)
    defer { close(output) }
    var status: CInt = 0
    var exited = false
    let handlerInstalled = waitForSIGINTHandler(of: pid, exited: &exited, status: &status)
    if handlerInstalled {
      sleep(for: length)
      kill(pid, SIGINT)
    }
    let text = readAll(output)
    if !exited {
      while unsafe waitpid(pid, &status, 0) < 0 && errno == EINTR {}
    }
    guard status == 0 else {
      throw BenchError("wrk failed (wait status \(status)): \(text)")
    }
    return try parse(text)
  }

  /// The figures of wrk's report: completed requests, and the run time
  /// (requests over its `Requests/sec`, which wrk computes from its run time in
  /// microseconds). Fails on socket errors or non-2xx responses.
  static func parse(_ text: String) throws(BenchError) -> Sample {
    var requests: Int?
    var rate: Double?
    for line in text.split(separator: "\n") {
      let words = line.split(separator: " ")
      if words.count >= 3, words[1] == "requests", words[2] == "in" {
        requests = Int(words[0])
      } else if words.first == "Requests/sec:", words.count == 2 {
        rate = Double(words[1])
      } else if line.contains("Non-2xx or 3xx responses") {
        throw BenchError("wrk: \(line.trimmingPrefix(while: { $0 == " " }))")
      } else if words.first == "Socket",
        words.contains(where: { (Int($0.filter(\.isNumber)) ?? 0) > 0 })
      {
        // `Socket errors: connect 0, read 0, write 0, timeout 0`
        throw BenchError("wrk: \(line.trimmingPrefix(while: { $0 == " " }))")
      }
    }
    guard let requests, let rate, requests > 0, rate > 0 else {
      throw BenchError("wrk's output has no figures: \(text)")
    }
    return Sample(operations: requests, elapsed: .seconds(Double(requests) / rate))
  }

  /// Polls wrk's /proc status until its SIGINT handler is installed (`true`)
  /// or it exits (`false`, with `exited` set and `status` its wait status).
  private static func waitForSIGINTHandler(
    of pid: pid_t, exited: inout Bool, status: inout CInt
  ) -> Bool {
    while true {
      if unsafe waitpid(pid, &status, WNOHANG) == pid {
        exited = true
        return false
      }
      if let mask = caughtSignals(of: pid), mask & (1 << (SIGINT - 1)) != 0 { return true }
      sleep(for: .milliseconds(1))
    }
  }

  /// The `SigCgt` mask of /proc/PID/status.
  private static func caughtSignals(of pid: pid_t) -> UInt64? {
    let fd = unsafe open("/proc/\(pid)/status", O_RDONLY)
    guard fd >= 0 else { return nil }
    defer { close(fd) }
    let text = readAll(fd)
    guard let line = text.split(separator: "\n").first(where: { $0.hasPrefix("SigCgt:") }) else {
      return nil
    }
    return UInt64(line.dropFirst("SigCgt:".count).filter(\.isHexDigit), radix: 16)
  }

  /// Everything `fd` gives until its end, as UTF-8 text.
  static func readAll(_ fd: CInt) -> String {
    var bytes: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 4096)
    while true {
      let count = unsafe chunk.withUnsafeMutableBytes { unsafe read(fd, $0.baseAddress, $0.count) }
      if count < 0 && errno == EINTR { continue }
      guard count > 0 else { break }
      bytes += chunk[..<count]
    }
    return String(decoding: bytes, as: UTF8.self)
  }

  private static func sleep(for length: Duration) {
    let parts = length.components
    var time = timespec(tv_sec: Int(parts.seconds), tv_nsec: Int(parts.attoseconds / 1_000_000_000))
    var remaining = timespec()
    while unsafe nanosleep(&time, &remaining) < 0 && errno == EINTR { time = remaining }
  }
}
