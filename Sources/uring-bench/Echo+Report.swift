/// The table's section for the echo servers driven by the C client: each
/// server's rate and **server** CPU time per message, with the ratios the
/// goals are stated in (to the C io_uring server, to SwiftNIO's two servers).
struct EchoComparison {
  let measurements: [Measurement]
  let workloads: [any Workload]

  /// This section, then the http workloads' (Http+Report.swift).
  func text() -> String {
    echoText() + HttpComparison(measurements: measurements, workloads: workloads).text()
  }

  private func echoText() -> String {
    let compared = workloads.compactMap { $0 as? Echo }.filter(\.cClient)
    guard !compared.isEmpty else { return "" }
    var out = "\necho servers driven by the C io_uring client (medians; server us/msg = CPU time "
    out += "of the server's threads\n(in-process servers: every thread but the client's) or "
    out += "process (SwiftNIO) per message; rate ratios: higher is better, cpu ratio: lower):\n"
    let table = ServerTable(
      columns: [
        Column("  workload / system", 30, rightAligned: false), Column("msgs/s", 10),
        Column("server us/msg", 15), Column("rate vs c", 11), Column("cpu vs c", 10),
        Column("vs nio", 9), Column("vs nio-async", 14),
      ],
      measurements: measurements)
    out += table.header
    for workload in compared {
      out += table.section(workload.id) { figures, median in
        let (c, nio, nioAsync) = (median(.cLiburing), median(.nio), median(.nioAsyncChannel))
        return [
          ServerTable.ratio(figures.rate, c?.rate), ServerTable.ratio(figures.time, c?.time),
          ServerTable.ratio(figures.rate, nio?.rate),
          ServerTable.ratio(figures.rate, nioAsync?.rate),
        ]
      }
    }
    if ChildProgram.nioEcho.path == nil {
      out += "  nio, nio-async-channel: absent (nio-echo-server was not found): "
      out += ChildProgram.nioEcho.howToBuild + "\n"
    }
    return out
  }
}
