// uring-bench: UringReactor vs Swift's default executor, Dispatch (queues and
// dispatch-io), plain C over liburing and SwiftNIO, same machine, one run.
// See `uring-bench --help`.
import Glibc
import Uring
import UringReactor

let options: Options
do throws(Options.UsageError) {
  switch try Options.parse(CommandLine.arguments.dropFirst()) {
  case .help:
    print(Options.usage, terminator: "")
    exit(0)
  case .run(let parsed):
    options = parsed
  }
} catch {
  Log.error("uring-bench: \(error.message)\n")
  exit(2)
}

let reactor: Reactor
do throws(UringUnavailableError) {
  var reactorOptions = ReactorOptions()
  reactorOptions.name = "uring-bench"
  reactor = try Reactor(options: reactorOptions)
} catch {
  Log.error("uring-bench: cannot start the reactor: \(error)\n")
  exit(1)
}

let workloads: [any Workload] =
  options.workloadIDs.isEmpty
  ? Catalog.all(quick: options.quick)
  : options.workloadIDs.compactMap { Catalog.workload($0, quick: options.quick) }
let runner = Runner(
  workloads: workloads, systems: options.systems, rounds: options.rounds,
  target: options.targetRunTime, reactor: reactor)
let measurements = await runner.run()
let report = Report(
  measurements: measurements, workloads: workloads, machine: Machine(reactor: reactor),
  rounds: options.rounds, targetRunTime: options.targetRunTime)
await reactor.shutdown()

print(options.json ? report.json() : report.table(), terminator: "")
if let path = options.chartPath {
  let chart = Chart(
    measurements: measurements, workloads: workloads, machine: report.machine,
    rounds: options.rounds, targetRunTime: options.targetRunTime)
  if let failure = chart.document().write(to: path) {
    Log.error("uring-bench: --chart: \(failure)\n")
    exit(1)
  }
  Log.progress("uring-bench: chart written to \(path)\n")
}

let failed = measurements.filter { $0.summary == nil }
if !failed.isEmpty {
  for measurement in failed {
    Log.error(
      "uring-bench: no figure for \(measurement.workload) on \(measurement.system.id): "
        + "\(measurement.failure ?? "no runs")\n")
  }
  exit(1)
}
