/// The command line of `uring-bench`, parsed by hand (no dependencies).
struct Options: Sendable {
  /// Two rounds, short runs, a 64 MiB file for the file-read workloads: the
  /// whole run takes 20-30 seconds, for smoke tests.
  var quick = false
  /// Print one JSON array instead of the table.
  var json = false
  /// Interleaved rounds per (workload, system); `nil` = 7, or 2 with `--quick`.
  var requestedRounds: Int?
  /// Workloads to run, in the order given; empty = every workload.
  var workloadIDs: [String] = []
  /// Systems to run, in report order; empty = every system.
  var systemIDs: [String] = []
  /// Where `--chart` writes the SVG chart; `nil` = no chart.
  var chartPath: String?

  var systems: [BenchSystem] {
    systemIDs.isEmpty
      ? BenchSystem.allCases : BenchSystem.allCases.filter { systemIDs.contains($0.id) }
  }

  var rounds: Int { requestedRounds ?? (quick ? 2 : 7) }

  /// The wall time each timed run aims for; the operation count per run is
  /// calibrated to it per (workload, system).
  var targetRunTime: Duration { quick ? .milliseconds(30) : .milliseconds(250) }

  enum Parsed {
    case run(Options)
    case help
  }

  struct UsageError: Error {
    let message: String
  }

  static func parse(_ arguments: some Collection<String>) throws(UsageError) -> Parsed {
    var options = Options()
    var remaining = arguments.makeIterator()

    func value(for flag: String, inline: String?) throws(UsageError) -> String {
      if let inline { return inline }
      guard let next = remaining.next() else {
        throw UsageError(message: "\(flag) needs a value")
      }
      return next
    }

    while let argument = remaining.next() {
      // Accept both `--flag value` and `--flag=value`.
      let name: String
      let inline: String?
      if argument.hasPrefix("--"), let equals = argument.firstIndex(of: "=") {
        name = String(argument[..<equals])
        inline = String(argument[argument.index(after: equals)...])
      } else {
        name = argument
        inline = nil
      }
      switch name {
      case "-h", "--help":
        return .help
      case "--quick":
        options.quick = true
      case "--json":
        options.json = true
      case "--rounds":
        let text = try value(for: name, inline: inline)
        guard let rounds = Int(text), rounds >= 1, rounds <= 1000 else {
          throw UsageError(message: "--rounds wants a whole number from 1 to 1000, got '\(text)'")
        }
        options.requestedRounds = rounds
      case "--workload":
        let id = try value(for: name, inline: inline)
        guard Catalog.workload(id) != nil else {
          throw UsageError(
            message: "unknown workload '\(id)'; known: \(Catalog.ids.joined(separator: ", "))")
        }
        if !options.workloadIDs.contains(id) { options.workloadIDs.append(id) }
      case "--chart":
        options.chartPath = try value(for: name, inline: inline)
      case "--system":
        let id = try value(for: name, inline: inline)
        guard BenchSystem(rawValue: id) != nil else {
          throw UsageError(
            message: "unknown system '\(id)'; known: "
              + BenchSystem.allCases.map(\.id).joined(separator: ", "))
        }
        if !options.systemIDs.contains(id) { options.systemIDs.append(id) }
      default:
        throw UsageError(message: "unknown argument '\(argument)' (see --help)")
      }
    }
    return .run(options)
  }

  static var usage: String {
    var text = """
      usage: uring-bench [--quick] [--json] [--rounds N] [--chart FILE.svg] [--workload ID]...
                         [--system ID]...

      Compares the UringReactor executor with Swift's default executor, Dispatch,
      plain C over liburing and SwiftNIO on this machine, running the systems of
      each workload interleaved (A B C A B C ...), and prints median, min and max
      rates (higher is better). The http workloads need `wrk` on $PATH (or
      $URING_BENCH_WRK) and the `http-server` example built next to uring-bench;
      without them they have no figures, and the report says why. The
      file-direct-* workloads read a file on the disk with O_DIRECT (1 GiB in
      $TMPDIR, or /var/tmp if $TMPDIR is a tmpfs; 64 MiB with --quick); their
      fio row needs `fio` on $PATH (or $URING_BENCH_FIO), else it is left out
      and the report says why. file-small-20k reads a tree of 20,000 small files
      made once on the disk (2,000 with --quick), next to that file.

      options:
        --quick          2 rounds of short runs (the whole run takes 20-30 seconds)
        --json           print one JSON array of records instead of the table
        --rounds N       interleaved rounds per workload (default 7; 2 with --quick)
        --chart FILE     also write an SVG chart: per workload, each system's median
                         relative to Dispatch's (log scale), labelled with the figures
        --workload ID    run only this workload (repeatable)
        --system ID      run only this system (repeatable; for profiling):
                         reactor (one reactor), reactor-stream
                         (File.reads(at:): the file-random-* workloads only),
                         reactor-group (a ReactorGroup of 2 reactors pinned to
                         2 CPUs: the file-random-*, fan-out-in*, file-small-20k
                         and skewed-cpu-io workloads only), default-executor,
                         dispatch (not in skewed-cpu-io), dispatch-io
                         (a DispatchIO random-access channel: the file-* workloads
                         only), c-liburing, nio, nio-async-channel (SwiftNIO: the
                         echo and http workloads, from Benchmarks/'s nio-echo-server
                         and nio-http-server, when built; see ./scripts/bench.sh),
                         fio (fio with ioengine=io_uring, a child process: the
                         file-direct-* workloads only, when installed),
                         reactor-fixed (registered buffers through a registered
                         file: file-direct-random-* only), nio-filesystem
                         (Benchmarks/'s nio-filesystem-reader: file-random-4k-*
                         only, when built)
        -h, --help       show this help

      workloads:

      """
    for workload in Catalog.all(quick: false) {
      text += "  \(workload.id)\n      \(workload.summary)\n"
    }
    text += """

      exit status: 0 ok; 1 a workload produced no figure or the reactor could not
      start; 2 usage error; 3 a run hung (watchdog).

      """
    return text
  }
}
