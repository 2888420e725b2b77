import UringReactor

/// Runs workloads with their systems interleaved: for each workload, every
/// system is calibrated (warm-up runs, discarded) so one run lasts about the
/// target time, then rounds run the systems in turn (A B C A B C ...), so that
/// slow drifts of a noisy machine hit every system alike.
struct Runner {
  let workloads: [any Workload]
  let systems: [BenchSystem]
  let rounds: Int
  let target: Duration
  let reactor: Reactor
  let watchdog = Watchdog()

  /// Pause before each timed run.
  var settle: Duration { target / 10 }

  /// Upper bound of operations in one run (bounds memory for the workloads
  /// that create a task per operation).
  static let maximumOperations = 50_000_000

  func run() async -> [Measurement] {
    var results: [Measurement] = []
    let totalSteps = workloads.reduce(0) { $0 + systems(of: $1).count } * rounds
    var step = 0
    for workload in workloads {
      var measurements = systems(of: workload).map {
        Measurement(workload: workload.id, unit: workload.unit, system: $0)
      }
      for index in measurements.indices {
        let system = measurements[index].system
        Log.progress("[calibrate] \(workload.id) \(system.id) ... ")
        do throws(BenchError) {
          let operations = try await calibrate(workload, on: system)
          measurements[index].operationsPerRun = operations
          Log.progress("\(operations) ops per run\n")
        } catch {
          measurements[index].failure = error.description
          Log.progress("FAILED: \(error.description)\n")
        }
      }
      for _ in 0..<rounds {
        for index in measurements.indices {
          step += 1
          let system = measurements[index].system
          Log.progress("[\(step)/\(totalSteps)] \(workload.id) \(system.id) ... ")
          guard measurements[index].failure == nil else {
            Log.progress("skipped (failed before)\n")
            continue
          }
          do throws(BenchError) {
            // Let the previous run's threads wind down (Dispatch workers spin a
            // while before they sleep), so neither the clock nor the CPU time
            // of this run pays for them.
            try? await Task.sleep(for: settle)
            let cpuBefore = CPUTime.process()
            let sample = try await timed(
              workload, on: system, operations: measurements[index].operationsPerRun)
            let cpu = sample.cpu ?? CPUTime.process() - cpuBefore
            guard let rate = sample.rate else {
              throw BenchError("\(workload.id) \(system.id): the run measured no time")
            }
            measurements[index].rates.append(rate)
            measurements[index].cpuNanosecondsPerOperation.append(
              cpu.seconds * 1e9 / Double(sample.operations))
            if let server = sample.serverCPU {
              measurements[index].serverCPUNanosecondsPerOperation.append(
                server.seconds * 1e9 / Double(sample.operations))
            }
            if let p99 = sample.p99Latency {
              measurements[index].p99LatencyNanoseconds.append(p99.seconds * 1e9)
            }
            Log.progress("\(Text.rate(rate)) \(workload.unit)\n")
          } catch {
            measurements[index].failure = error.description
            Log.progress("FAILED: \(error.description)\n")
          }
        }
      }
      results += measurements
    }
    return results
  }

  /// The systems asked for that `workload` runs on.
  private func systems(of workload: any Workload) -> [BenchSystem] {
    systems.filter { workload.systems.contains($0) }
  }

  /// Finds the operation count for which one run takes about `target`:
  /// grows a warm-up run until it takes a quarter of the target, then scales.
  private func calibrate(_ workload: any Workload, on system: BenchSystem) async throws(BenchError)
    -> Int
  {
    var operations = rounded(workload.initialOperations, workload)
    while true {
      let sample = try await timed(workload, on: system, operations: operations)
      let enough = sample.elapsed * 4 >= target
      if enough || operations >= Self.maximumOperations {
        guard let rate = sample.rate else {
          throw BenchError("\(workload.id) \(system.id): the warm-up measured no time")
        }
        let wanted = Int((rate * target.seconds).rounded())
        return rounded(min(max(wanted, workload.granularity), Self.maximumOperations), workload)
      }
      // Grow by the measured shortfall, at most 16x per step.
      let factor = sample.elapsed > .zero ? min(16, max(2, target / sample.elapsed)) : 16
      operations = rounded(Int(Double(operations) * factor), workload)
    }
  }

  private func rounded(_ operations: Int, _ workload: any Workload) -> Int {
    let granularity = max(1, workload.granularity)
    return max(granularity, (operations + granularity / 2) / granularity * granularity)
  }

  /// One run under the watchdog: a run that hangs (a lost wake-up, a lost
  /// completion) aborts the process with a message instead of hanging forever.
  private func timed(_ workload: any Workload, on system: BenchSystem, operations: Int)
    async throws(BenchError) -> Sample
  {
    let limit = max(.seconds(60), target * 100)
    let token = watchdog.arm(
      after: limit,
      "\(workload.id) on \(system.id) (\(operations) operations) did not finish within \(limit)")
    defer { watchdog.disarm(token) }
    return try await workload.run(on: system, operations: operations, reactor: reactor)
  }
}
