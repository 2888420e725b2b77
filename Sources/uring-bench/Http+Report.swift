/// The table's section for the http workloads: each server's request rate
/// and **server** CPU time per request (the child process's), with the
/// reactor's ratios to SwiftNIO's; and why a system is missing, if one is.
struct HttpComparison {
  let measurements: [Measurement]
  let workloads: [any Workload]

  func text() -> String {
    let compared = workloads.filter { $0 is Http || $0 is HttpStatic }
    guard !compared.isEmpty else { return "" }
    var out = "\nHTTP/1.1 keep-alive servers driven by wrk (medians; server us/req = CPU time of "
    out += "the server's process\nper request; rate ratio: higher is better, cpu ratio: lower):\n"
    let table = ServerTable(
      columns: [
        Column("  workload / system", 36, rightAligned: false), Column("reqs/s", 10),
        Column("server us/req", 15), Column("rate vs nio", 13), Column("cpu vs nio", 12),
      ],
      measurements: measurements)
    let measured = Set(measurements.map(\.workload))
    if compared.contains(where: { measured.contains($0.id) }) { out += table.header }
    for workload in compared {
      out += table.section(workload.id) { figures, median in
        let nio = median(.nio)
        return [
          ServerTable.ratio(figures.rate, nio?.rate), ServerTable.ratio(figures.time, nio?.time),
        ]
      }
    }
    if Wrk.path == nil {
      out += "  every system: absent (wrk was not found): " + Wrk.howToInstall + "\n"
    }
    let servers =
      (compared.contains { $0 is Http } ? Http.servers : [])
      + (compared.contains { $0 is HttpStatic } ? HttpStatic.servers : [])
    for (system, program) in servers where program.path == nil {
      out += "  \(system.id): absent (\(program.name) was not found): \(program.howToBuild)\n"
    }
    return out
  }
}
