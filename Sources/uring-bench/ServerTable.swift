/// A column of a text table: its title, its width, and whether its cells are
/// right-aligned (numbers).
struct Column {
  let title: String
  let width: Int
  let rightAligned: Bool

  init(_ title: String, _ width: Int, rightAligned: Bool = true) {
    self.title = title
    self.width = width
    self.rightAligned = rightAligned
  }

  /// One line of `cells` laid out in `columns`.
  static func row(_ cells: [String], _ columns: [Column]) -> String {
    var line = ""
    for (cell, column) in zip(cells, columns) {
      line +=
        column.rightAligned
        ? Text.padLeft(cell, column.width) : Text.padRight(cell, column.width)
    }
    return line + "\n"
  }
}

/// The report sections that compare systems on a rate and a time (echo and
/// http: server CPU time per operation; skewed-cpu-io: p99 latency): per
/// workload, each system's median rate and time, then ratios to reference
/// systems.
struct ServerTable {
  /// A system's medians in one workload.
  struct Figures {
    let rate: Double
    /// Nanoseconds (of `time`), if measured.
    let time: Double?
  }

  /// After the first column (the system) and the rate and time ones.
  let columns: [Column]
  let measurements: [Measurement]
  /// The time figure, in nanoseconds.
  var time: KeyPath<Measurement, Summary?> = \.serverCPU

  var header: String { Column.row(columns.map(\.title), columns) }

  /// The rows of workload `id` (nothing if it did not run): the system, its
  /// rate, its time in microseconds, then `ratios(figures, medianOf)`.
  func section(
    _ id: String, ratios: (Figures, (BenchSystem) -> Figures?) -> [String]
  ) -> String {
    let rows = measurements.filter { $0.workload == id }
    guard !rows.isEmpty else { return "" }
    func median(_ system: BenchSystem) -> Figures? {
      guard let row = rows.first(where: { $0.system == system }), let summary = row.summary
      else { return nil }
      return Figures(rate: summary.median, time: row[keyPath: time]?.median)
    }
    var out = "  \(id)\n"
    for measurement in rows {
      guard let figures = median(measurement.system) else {
        out += Column.row(["    " + measurement.system.id, "FAILED"], columns)
        continue
      }
      out += Column.row(
        [
          "    " + measurement.system.id, Text.rate(figures.rate),
          figures.time.map { Text.fixed($0 / 1000, 2) } ?? "-",
        ] + ratios(figures, median), columns)
    }
    return out
  }

  /// `a / b` as `1.23x`, or `-` when either is missing.
  static func ratio(_ a: Double?, _ b: Double?) -> String {
    guard let a, let b, b > 0 else { return "-" }
    return Text.fixed(a / b, 2) + "x"
  }
}
