import Glibc

/// `fio` (Debian's package) as the system `fio` of the `file-direct-*`
/// workloads: the external reference for O_DIRECT reads of the same file,
/// through io_uring, as a child process. fio runs for a time rather than a
/// count, so a run's figures are its own: the reads it completed, its read
/// rate (`iops`), and its CPU time (`usr_cpu` + `sys_cpu`, percentages of its
/// job's run time), from its JSON report.
enum Fio {
  /// Where `fio` is: `$URING_BENCH_FIO`, else the first `fio` on `$PATH`;
  /// `nil` if it is not installed.
  static let path = Wrk.executable("fio", variable: "URING_BENCH_FIO")

  static let howToInstall = "install it with `apt-get install fio` (CI and ./scripts/bench.sh do)"

  /// The fio options of a run, but the file and the run time.
  static func options(sequential: Bool, depth: Int) -> [String] {
    [
      "--ioengine=io_uring", "--direct=1", sequential ? "--rw=read" : "--rw=randread",
      sequential ? "--bs=1m" : "--bs=4k", "--iodepth=\(depth)",
    ]
  }

  static func footnote(sequential: Bool, depth: Int) -> String {
    "fio " + options(sequential: sequential, depth: depth).joined(separator: " ")
      + " --readonly --invalidate=0 --time_based, one job on the same file, a child process "
      + "(rate: its `iops`; cpu ns/op: its usr + sys CPU per read)"
  }

  /// Runs fio on `file` for `length` and returns its figures.
  static func run(_ file: BenchFile, sequential: Bool, depth: Int, for length: Duration)
    throws(BenchError) -> Sample
  {
    guard let path else { throw BenchError("fio not found: " + howToInstall) }
    let milliseconds = Int(length.seconds * 1000)
    let (pid, input, output) = try ServerProcess.spawn(
      [path, "--name=uring-bench"] + options(sequential: sequential, depth: depth) + [
        "--filename=\(file.path.string)", "--size=\(file.size)", "--readonly",
        "--invalidate=0", "--runtime=\(milliseconds)ms", "--time_based",
        "--output-format=json",
      ])
    close(input)
    let text = Wrk.readAll(output)
    close(output)
    var status: CInt = 0
    while unsafe waitpid(pid, &status, 0) < 0 && errno == EINTR {}
    guard status == 0 else { throw BenchError("fio failed (wait status \(status)): \(text)") }
    return try parse(text)
  }

  /// The figures of fio's JSON report (its first job's reads).
  static func parse(_ text: String) throws(BenchError) -> Sample {
    guard let read = text.firstRange(of: "\"read\" : {") else {
      throw BenchError("fio's output has no reads: \(text)")
    }
    let reads = text[read.upperBound...]
    guard let total = number("total_ios", in: reads).flatMap({ Int(exactly: $0) }),
      let iops = number("iops", in: reads), total > 0, iops > 0,
      let runtime = number("job_runtime", in: text[...]),
      let user = number("usr_cpu", in: text[...]), let system = number("sys_cpu", in: text[...])
    else { throw BenchError("fio's output has no figures: \(text)") }
    let cpuSeconds = (user + system) / 100 * runtime / 1000
    return Sample(
      operations: total, elapsed: .seconds(Double(total) / iops), cpu: .seconds(cpuSeconds))
  }

  /// The number after the first `"key" : ` of `text`.
  private static func number(_ key: String, in text: Substring) -> Double? {
    guard let range = text.firstRange(of: "\"\(key)\" : ") else { return nil }
    let digits = text[range.upperBound...].prefix { $0.isNumber || $0 == "." || $0 == "-" }
    return Double(digits)
  }

  /// Why the `file-direct-*` workloads have no `fio` row, if they have none.
  static func absence(_ workloads: [any Workload]) -> String {
    guard path == nil, workloads.contains(where: { ($0 as? FileReads)?.direct == true }) else {
      return ""
    }
    return "  fio: absent from the file-direct-* workloads (fio was not found): "
      + howToInstall + "\n"
  }
}
