/// Renders measurements as a table (with machine facts and footnotes) or as
/// one JSON array.
struct Report {
  let measurements: [Measurement]
  let workloads: [any Workload]
  let machine: Machine
  let rounds: Int
  let targetRunTime: Duration

  func table() -> String {
    var out = "uring-bench: UringReactor vs Swift default executor vs Dispatch (queues, "
    out += "dispatch-io) vs C over liburing vs SwiftNIO\n"
    out += "machine: \(machine.processors) CPUs online, Linux \(machine.kernel), "
    out += "Swift \(machine.swift), \(machine.build)\n"
    out += "reactor ring: \(machine.ring)\n"
    out += "method: \(rounds) interleaved round\(rounds == 1 ? "" : "s") per workload "
    out += "(systems in turn), runs of ~\(Text.fixed(targetRunTime.seconds * 1000, 0)) ms "
    out += "after calibration; rates, higher is better\n"
    out += "columns: ns/op = 1e9 / median rate (wall); cpu ns/op = median process CPU time "
    out += "per op, all threads; vs dispatch = median / dispatch median\n\n"

    let workloadWidth = max(10, workloads.map(\.id.count).max() ?? 0) + 2
    let header = [
      Column("workload", workloadWidth, rightAligned: false),
      Column("system", 18, rightAligned: false), Column("unit", 8, rightAligned: false),
      Column("median", 10), Column("min", 10), Column("max", 10),
      Column("ns/op", 9), Column("cpu ns/op", 11), Column("vs dispatch", 13),
    ]
    func row(_ cells: [String]) -> String { Column.row(cells, header) }
    out += row(header.map(\.title))
    out += String(repeating: "-", count: header.reduce(0) { $0 + $1.width }) + "\n"

    for workload in workloads {
      let rows = measurements.filter { $0.workload == workload.id }
      let baseline = rows.first { $0.system == .dispatch }?.summary?.median
      for measurement in rows {
        var cells = [measurement.workload, measurement.system.id, measurement.unit]
        if let summary = measurement.summary {
          cells += [
            Text.rate(summary.median), Text.rate(summary.min), Text.rate(summary.max),
            Text.nanoseconds(perOperationAt: summary.median),
            measurement.cpu.map { Text.fixed($0.median, 0) } ?? "-",
            baseline.map { Text.fixed(summary.median / $0, 2) + "x" } ?? "-",
          ]
        } else {
          cells += ["FAILED", "-", "-", "-", "-", "-"]
        }
        out += row(cells)
      }
    }

    out += "\nwhat each system does:\n"
    for workload in workloads {
      out += "  \(workload.id):\n"
      for system in BenchSystem.allCases
      where measurements.contains(where: { $0.workload == workload.id && $0.system == system }) {
        out += "    \(Text.padRight(system.id + ":", 18))\(workload.footnote(for: system))\n"
      }
    }
    out += "  a hop is one switch of actor isolation; one call plus its return is two hops.\n"
    out += "  only the reactor and c-liburing do I/O in nop-*: the other systems do the nearest\n"
    out += "  async round trip through their own completion mechanism (suspend, get resumed by\n"
    out += "  the system).\n"
    out += Fio.absence(workloads)
    out += NIOFileSystemReader.absence(workloads)

    out += EchoComparison(measurements: measurements, workloads: workloads).text()
    out += SkewedComparison(measurements: measurements).text()

    let failures = measurements.compactMap { m in
      m.failure.map { "\(m.workload) \(m.system.id): \($0)" }
    }
    if !failures.isEmpty {
      out += "\nfailed (no figure):\n"
      for failure in failures { out += "  \(failure)\n" }
    }
    return out
  }

  /// One JSON array of records; pairs without a figure are left out.
  func json() -> String {
    var records: [String] = []
    for measurement in measurements {
      guard let summary = measurement.summary else { continue }
      records.append(
        "{\"workload\": \(Text.json(measurement.workload)), "
          + "\"system\": \(Text.json(measurement.system.id)), "
          + "\"unit\": \(Text.json(measurement.unit)), "
          + "\"median\": \(Text.fixed(summary.median, 1)), "
          + "\"min\": \(Text.fixed(summary.min, 1)), "
          + "\"max\": \(Text.fixed(summary.max, 1)), "
          + "\"runs\": \(summary.runs)"
          + [
            ("server_cpu_ns_per_op", measurement.serverCPU),
            ("p99_latency_ns", measurement.p99Latency),
          ]
          .compactMap { key, figure in figure.map { ", \"\(key)\": \(Text.fixed($0.median, 1))" } }
          .joined() + "}")
    }
    return "[\n  " + records.joined(separator: ",\n  ") + "\n]\n"
  }
}
