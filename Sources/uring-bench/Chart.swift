import Glibc

/// The results as an SVG chart (`--chart path.svg`).
///
/// One group of horizontal bars per workload, one bar per system. A bar's
/// length is the system's median rate divided by the Dispatch median of the
/// same workload, on a log scale, growing from the Dispatch line (1x): right of
/// it is faster than Dispatch, left slower. A thin line with caps spans the
/// runs' min..max (same normalisation). The right-hand columns give each
/// median in its own unit and the ratio, so no figure has to be read off the
/// scale. A workload without a Dispatch figure is drawn relative to its first
/// system that has one, and says so.
struct Chart {
  let measurements: [Measurement]
  let workloads: [any Workload]
  let machine: Machine
  let rounds: Int
  let targetRunTime: Duration

  private let width = 940.0
  private let axisLeft = 215.0
  private let axisRight = 640.0
  private let rateColumn = 790.0
  private let ratioColumn = 880.0
  private let barHeight = 12.0
  private let rowHeight = 17.0

  static func color(_ system: BenchSystem) -> String {
    switch system {
    case .reactor: "#e8590c"
    case .reactorStream: "#f59f00"
    case .reactorGroup: "#c92a2a"
    case .reactorBatch: "#ffa94d"
    case .reactorGroupBatch: "#862e9c"
    case .reactorExecute: "#d9480f"
    case .defaultExecutor: "#1c7ed6"
    case .dispatch: "#868e96"
    case .dispatchIO: "#0c8599"
    case .cLiburing: "#2b8a3e"
    case .fio: "#5c940d"
    case .reactorFixed: "#e67700"
    case .nioFileSystem: "#5f3dc4"
    case .nio: "#7048e8"
    case .nioAsyncChannel: "#ae3ec9"
    }
  }

  /// One bar: ratios to the group's baseline.
  private struct Bar {
    let system: BenchSystem
    let summary: Summary?
    let ratio: Double
    let low: Double
    let high: Double
  }

  private struct Group {
    let workload: any Workload
    let baseline: BenchSystem?
    let bars: [Bar]
  }

  private func groups() -> [Group] {
    workloads.compactMap { workload in
      let rows = measurements.filter { $0.workload == workload.id }
      guard !rows.isEmpty else { return nil }
      let reference =
        rows.first { $0.system == .dispatch && $0.summary != nil }
        ?? rows.first { $0.summary != nil }
      let base = reference?.summary?.median
      let bars = rows.map { row -> Bar in
        guard let summary = row.summary, let base, base > 0 else {
          return Bar(system: row.system, summary: nil, ratio: 1, low: 1, high: 1)
        }
        return Bar(
          system: row.system, summary: summary, ratio: summary.median / base,
          low: summary.min / base, high: summary.max / base)
      }
      return Group(workload: workload, baseline: reference?.system, bars: bars)
    }
  }

  func document() -> SVGDocument {
    let groups = groups()
    let ratios = groups.flatMap {
      $0.bars.filter { $0.summary != nil }.flatMap { [$0.low, $0.high] }
    }
    let lowest = floor(log10(max(1e-6, (ratios + [1]).min()! * 0.9)))
    let highest = max(lowest + 1, ceil(log10((ratios + [1]).max()! * 1.1)))
    func x(_ ratio: Double) -> Double {
      axisLeft + (log10(max(ratio, 1e-9)) - lowest) / (highest - lowest) * (axisRight - axisLeft)
    }

    let top = 118.0
    let groupHeights = groups.map { 22 + Double($0.bars.count) * rowHeight + 8 }
    let bottom = top + groupHeights.reduce(0, +)
    var svg = SVGDocument(width: width, height: bottom + 62)

    svg.text(
      "uring-bench: median throughput relative to Dispatch (log scale, higher is better)",
      x: 20, y: 26, size: 15, weight: "bold")
    svg.text(
      "\(machine.processors) CPUs, Linux \(machine.kernel), Swift \(machine.swift), "
        + "\(machine.build); reactor ring: \(machine.ring)",
      x: 20, y: 46, size: 11, fill: "#495057")
    svg.text(
      "\(rounds) interleaved round\(rounds == 1 ? "" : "s") per workload, runs of ~"
        + "\(Text.fixed(targetRunTime.seconds * 1000, 0)) ms; bar = median / Dispatch median, "
        + "whisker = min..max of the runs",
      x: 20, y: 62, size: 11, fill: "#495057")

    // Legend.
    var legendX = 20.0
    for system in BenchSystem.allCases where measurements.contains(where: { $0.system == system }) {
      svg.rect(x: legendX, y: 74, width: 12, height: 12, fill: Self.color(system))
      svg.text(system.id, x: legendX + 17, y: 84.5, size: 11)
      legendX += 30 + Double(system.id.count) * 6.6
    }

    // Scale: decades labelled, 2x and 5x lines faint; the 1x line dark.
    for decade in Int(lowest)...Int(highest) {
      let value = pow(10, Double(decade))
      for minor in [2.0, 5.0] where decade < Int(highest) {
        let position = x(value * minor)
        svg.line(x1: position, y1: top - 4, x2: position, y2: bottom, stroke: "#f1f3f5")
      }
      let position = x(value)
      svg.line(x1: position, y1: top - 4, x2: position, y2: bottom, stroke: "#dee2e6")
      for y in [top - 8, bottom + 14] {
        svg.text(
          Self.ratioLabel(value), x: position, y: y, size: 10, anchor: .middle, fill: "#495057")
      }
    }
    svg.text("median", x: rateColumn, y: top - 8, size: 10, anchor: .end, weight: "bold")
    svg.text("vs Dispatch", x: ratioColumn, y: top - 8, size: 10, anchor: .end, weight: "bold")

    var y = top
    for (group, height) in zip(groups, groupHeights) {
      svg.text(group.workload.id, x: 20, y: y + 15, size: 12, weight: "bold")
      // Without a Dispatch figure the bars are relative to another system:
      // say so where the workload's summary goes (the title is long enough).
      var summary = group.workload.summary
      if let baseline = group.baseline, baseline != .dispatch {
        summary = "relative to \(baseline.id) (no Dispatch figure): " + summary
      }
      svg.text(
        Self.shortened(summary, 72), x: axisLeft + 90, y: y + 15, size: 10, fill: "#868e96")
      var rowTop = y + 22
      for bar in group.bars {
        let middle = rowTop + rowHeight / 2
        svg.text(bar.system.id, x: 36, y: middle + 4, size: 11)
        if let summary = bar.summary {
          let from = x(1)
          let to = x(bar.ratio)
          if abs(to - from) < 2 {
            svg.rect(
              x: to - 1.5, y: middle - barHeight / 2, width: 3, height: barHeight,
              fill: Self.color(bar.system))
          } else {
            svg.rect(
              x: min(from, to), y: middle - barHeight / 2, width: abs(to - from),
              height: barHeight, fill: Self.color(bar.system), opacity: 0.85)
          }
          let low = x(bar.low)
          let high = x(bar.high)
          svg.line(x1: low, y1: middle, x2: high, y2: middle, stroke: "#212529")
          svg.line(x1: low, y1: middle - 3, x2: low, y2: middle + 3, stroke: "#212529")
          svg.line(x1: high, y1: middle - 3, x2: high, y2: middle + 3, stroke: "#212529")
          svg.text(
            "\(Text.rate(summary.median)) \(group.workload.unit)", x: rateColumn, y: middle + 4,
            size: 11, anchor: .end)
          svg.text(
            Text.fixed(bar.ratio, bar.ratio >= 10 ? 1 : 2) + "x", x: ratioColumn, y: middle + 4,
            size: 11, anchor: .end, weight: bar.system == .reactor ? "bold" : "normal")
        } else {
          svg.text("FAILED (no figure)", x: x(1) + 6, y: middle + 4, size: 11, fill: "#c92a2a")
        }
        rowTop += rowHeight
      }
      y += height
      svg.line(x1: 20, y1: y - 4, x2: width - 20, y2: y - 4, stroke: "#e9ecef")
    }
    svg.line(x1: x(1), y1: top - 4, x2: x(1), y2: bottom, stroke: "#495057", width: 1.2)
    svg.text(
      "Dispatch = 1x. The other systems have no io_uring nop: in nop-* they do the nearest "
        + "async round trip (uring-bench --help, Docs/Performance.md).",
      x: 20, y: bottom + 34, size: 10, fill: "#495057")
    return svg
  }

  private static func ratioLabel(_ value: Double) -> String {
    if value >= 1 { return "\(Int(value.rounded()))x" }
    var text = Text.fixed(value, 6)
    while text.hasSuffix("0") { text.removeLast() }
    return text + "x"
  }

  private static func shortened(_ text: String, _ limit: Int) -> String {
    text.count <= limit ? text : String(text.prefix(limit - 1)) + "…"
  }
}
