#if Metrics
  public import CoreMetrics
  public import UringReactor
  import Synchronization

  /// Publishes ``Reactor/statistics`` through swift-metrics: one set of
  /// metrics per reactor, with a `reactor` dimension (its name).
  ///
  /// Counters (their increments since the previous publication):
  /// `<prefix>_operations_submitted`, `_operations_completed`,
  /// `_loop_iterations`, `_jobs_run`, `_inline_completions`, `_sleeps`,
  /// `_wake_ups_sent`, `_cq_overflows`. Gauges: `_operations_in_flight`,
  /// and for a group `_offload_queue_depth` (no `reactor` dimension).
  ///
  /// ```swift
  /// let metrics = ReactorMetrics(group: group)
  /// Task { try await metrics.run(every: .seconds(10)) }
  /// ```
  ///
  /// - Cost: each publication copies every reactor's counters on its loop
  ///   thread (one hop per reactor); the loops themselves do nothing more.
  /// - Thread-safety: `Sendable`; publications may overlap (each takes the
  ///   previous snapshot under a lock, so no increment is counted twice).
  public final class ReactorMetrics: Sendable {
    private typealias Field = KeyPath<ReactorStatistics, Int> & Sendable

    private final class Reporter: Sendable {
      let reactor: Reactor
      let previous = Mutex(ReactorStatistics())
      let counters: [(any Field, Counter)]
      let inFlight: Gauge

      init(reactor: Reactor, counters: [(any Field, Counter)], inFlight: Gauge) {
        self.reactor = reactor
        self.counters = counters
        self.inFlight = inFlight
      }
    }

    private let reporters: [Reporter]
    private let group: ReactorGroup?
    private let offloadDepth: Gauge?

    /// Metrics for every reactor of `group`, and its offload pool's depth.
    public convenience init(
      group: ReactorGroup, prefix: String = "uring_reactor", dimensions: [(String, String)] = [],
      factory: any MetricsFactory = MetricsSystem.factory
    ) {
      self.init(
        reactors: group.reactors, group: group, prefix: prefix, dimensions: dimensions,
        factory: factory)
    }

    /// Metrics for one reactor.
    public convenience init(
      reactor: Reactor, prefix: String = "uring_reactor", dimensions: [(String, String)] = [],
      factory: any MetricsFactory = MetricsSystem.factory
    ) {
      self.init(
        reactors: [reactor], group: nil, prefix: prefix, dimensions: dimensions, factory: factory)
    }

    private init(
      reactors: [Reactor], group: ReactorGroup?, prefix: String, dimensions: [(String, String)],
      factory: any MetricsFactory
    ) {
      let counted: [(String, any Field)] = [
        ("operations_submitted", \.operationsSubmitted),
        ("operations_completed", \.operationsCompleted),
        ("loop_iterations", \.loopIterations),
        ("jobs_run", \.jobsRun),
        ("inline_completions", \.inlineCompletions),
        ("sleeps", \.sleeps),
        ("wake_ups_sent", \.wakeUpsSent),
        ("cq_overflows", \.completionQueueOverflows),
      ]
      reporters = reactors.map { reactor in
        let labels = dimensions + [("reactor", reactor.name)]
        return Reporter(
          reactor: reactor,
          counters: counted.map { name, field in
            (field, Counter(label: "\(prefix)_\(name)", dimensions: labels, factory: factory))
          },
          inFlight: Gauge(
            label: "\(prefix)_operations_in_flight", dimensions: labels, factory: factory))
      }
      self.group = group
      offloadDepth =
        group == nil
        ? nil
        : Gauge(label: "\(prefix)_offload_queue_depth", dimensions: dimensions, factory: factory)
    }

    /// Publishes the counters' growth since the previous publication and the
    /// gauges' current values. Never throws; not cancellable (one hop per
    /// reactor).
    public func publish() async {
      for reporter in reporters {
        let now = await reporter.reactor.statistics
        let before = reporter.previous.withLock { previous in
          defer { previous = now }
          return previous
        }
        for (field, counter) in reporter.counters where now[keyPath: field] > before[keyPath: field]
        {
          counter.increment(by: now[keyPath: field] - before[keyPath: field])
        }
        reporter.inFlight.record(now.operationsInFlight)
      }
      if let group, let offloadDepth { offloadDepth.record(group.offloadPool.pendingCount) }
    }

    /// Publishes every `interval` until the task is cancelled (then throws
    /// `CancellationError`, from `Task.sleep`).
    public func run(every interval: Duration = .seconds(10)) async throws {
      while true {
        await publish()
        try await Task.sleep(for: interval)
      }
    }
  }
#endif
