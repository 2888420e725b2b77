import Glibc

/// SwiftNIO's `NIOFileSystem` as the system `nio-filesystem` of the
/// page-cached random reads (`file-random-4k-*`): Benchmarks/'s
/// `nio-filesystem-reader`, a child process reading the same file at the same
/// offsets and depth. It times itself (no process start-up in the figure) and
/// reports its reads, wall time and CPU time on stdout.
///
/// Not in the O_DIRECT workloads: NIOFileSystem has no O_DIRECT option, and
/// with `O_DIRECT` set on its descriptor (the reader's `--direct`) every
/// `readChunk` fails with `EINVAL`, since its `ByteBuffer`s are malloc'd, not
/// aligned to the device's block size.
enum NIOFileSystemReader {
  static let program = ChildProgram.benchmarks(
    "nio-filesystem-reader", variable: "URING_BENCH_NIO_FILESYSTEM")

  static func footnote(depth: Int) -> String {
    "SwiftNIO's NIOFileSystem (Benchmarks/'s nio-filesystem-reader, a child process): "
      + "\(depth) task(s) on the default executor, each awaiting "
      + "`handle.readChunk(fromAbsoluteOffset:length: 4 KiB)` per read (NIO's blocking pool)"
      + " (cpu ns/op: its own CPU time)"
  }

  /// Runs the reader on `file` and returns its figures.
  static func run(_ file: BenchFile, depth: Int, perLane: Int) throws(BenchError) -> Sample {
    guard let path = program.path else {
      throw BenchError("nio-filesystem-reader not found: " + program.howToBuild)
    }
    let (pid, input, output) = try ServerProcess.spawn(
      [
        path, "--path", file.path.string, "--size", "\(file.size)", "--depth", "\(depth)",
        "--per-lane", "\(perLane)",
      ])
    close(input)
    let text = Wrk.readAll(output)
    close(output)
    var status: CInt = 0
    while unsafe waitpid(pid, &status, 0) < 0 && errno == EINTR {}
    guard status == 0 else {
      throw BenchError("nio-filesystem-reader failed (wait status \(status)): \(text)")
    }
    let fields = text.split(whereSeparator: \.isWhitespace)
    guard fields.count == 6, fields[0] == "reads", let reads = Int(fields[1]),
      let nanoseconds = Int64(fields[3]), let cpu = Int64(fields[5])
    else { throw BenchError("nio-filesystem-reader printed no figures: \(text)") }
    return Sample(
      operations: reads, elapsed: .nanoseconds(nanoseconds), cpu: .nanoseconds(cpu))
  }

  /// Why the random file reads have no `nio-filesystem` row, if they have none.
  static func absence(_ workloads: [any Workload]) -> String {
    guard program.path == nil,
      workloads.contains(where: {
        ($0 as? FileReads).map { !$0.isSequential && !$0.direct } ?? false
      })
    else { return "" }
    return "  nio-filesystem: absent from the file-random-4k-* workloads "
      + "(nio-filesystem-reader was not found): " + program.howToBuild + "\n"
  }
}
