#if Logging || Metrics
  import Testing

  @testable import UringReactor

  #if Logging
    import Logging
    import UringReactorLogging
  #endif
  #if Metrics
    import CoreMetrics
    import MetricsTestKit
    import UringReactorMetrics
  #endif

  /// The optional products' bridges: diagnostics to a swift-log `Logger`,
  /// statistics to swift-metrics.
  @Suite(.requiresUring, .sharesProcess)
  struct ObservabilityBridgeTests {
    #if Logging
      @Test func diagnosticsReachALoggerWithTheReactorsName() async throws {
        let records = LogRecords()
        let logger = Logger(label: "test") { _ in LogRecords.Handler(records: records) }
        var options = ReactorOptions()
        options.name = "logged"
        options.diagnostics = .logging(to: logger)
        let reactor = try Reactor(options: options)
        await reactor.shutdown()
        let entries = records.entries.withLock { $0 }
        #expect(entries.first?.message == "io_uring ready")
        #expect(entries.first?.level == .info)
        #expect(entries.first?.reactor == "logged")
        let warnings = entries.filter { $0.level == .warning }
        #expect(warnings.count == reactor.setup.refused.count)
        #expect(entries.last?.message == "reactor stopped")
      }
    #endif

    #if Metrics
      @Test func statisticsArePublishedAsCountersAndGauges() async throws {
        let factory = TestMetrics()
        try await withReactor { reactor in
          let metrics = ReactorMetrics(reactor: reactor, prefix: "t", factory: factory)
          let dimensions = [("reactor", reactor.name)]
          await metrics.publish()
          let completed = try factory.expectCounter("t_operations_completed", dimensions)
          let first = completed.totalValue
          try await Task(executorPreference: reactor) {
            for _ in 0..<50 { try await reactor.nop() }
          }.value
          await metrics.publish()
          #expect(completed.totalValue - first >= 50)
          let inFlight = try factory.expectGauge("t_operations_in_flight", dimensions)
          #expect(inFlight.lastValue == 0)
        }
      }
    #endif
  }

  #if Logging
    /// What a `Logger` logged, for the tests.
    final class LogRecords: Sendable {
      struct Entry: Sendable {
        var level: Logger.Level
        var message: String
        var reactor: String?
      }
      let entries = Locked<[Entry]>([])

      struct Handler: LogHandler {
        let records: LogRecords
        var metadata: Logger.Metadata = [:]
        var logLevel: Logger.Level = .trace

        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
          get { metadata[key] }
          set { metadata[key] = newValue }
        }

        func log(event: LogEvent) {
          let reactor = event.metadata?["reactor"].map { "\($0)" }
          records.entries.withLock {
            $0.append(Entry(level: event.level, message: "\(event.message)", reactor: reactor))
          }
        }
      }
    }
  #endif
#endif
