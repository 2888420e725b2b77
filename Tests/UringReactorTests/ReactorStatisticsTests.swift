import Testing
import Uring

@testable import UringReactor

/// `Reactor.statistics`, `ReactorGroup.statistics` and the diagnostics hook
/// count and report what a test did.
@Suite(.requiresUring, .sharesProcess)
struct ReactorStatisticsTests {
  @Test func nopsAdvanceSubmittedAndCompletedAndLeaveNothingInFlight() async throws {
    try await withReactor { reactor in
      let before = await reactor.statistics
      let count = 100
      try await Task(executorPreference: reactor) {
        for _ in 0..<count { try await reactor.nop() }
      }.value
      let after = await reactor.statistics
      #expect(after.operationsSubmitted - before.operationsSubmitted >= count)
      #expect(after.operationsCompleted - before.operationsCompleted >= count)
      #expect(after.operationsInFlight == 0)
      #expect(after.loopIterations > before.loopIterations)
      #expect(after.jobsRun > before.jobsRun)
      #expect(after.completionQueueOverflows == 0)
      #expect(after.offloadQueueDepth == 0)
    }
  }

  @Test func operationsInFlightCountsAWaitingRead() async throws {
    try await withReactor { reactor in
      let (reader, writer) = try SocketStream.pair(on: reactor)
      let receiving = Task(executorPreference: reactor) { try await reader.receive() != nil }
      // The multishot receive is in flight once armed.
      try await waitOnLoop(reactor) { $0.statisticsSnapshot().operationsInFlight == 1 }
      try await writer.writeAll(copying: [1])
      #expect(try await receiving.value)
      try await reader.close()
      try await writer.close()
      try await waitOnLoop(reactor) { $0.statisticsSnapshot().operationsInFlight == 0 }
    }
  }

  @Test func aGroupSumsItsReactors() async throws {
    let group = try ReactorGroup(reactorCount: 2)
    for reactor in group.reactors {
      try await Task(executorPreference: reactor) {
        for _ in 0..<10 { try await reactor.nop() }
      }.value
    }
    let parts = await group.statisticsByReactor
    let total = await group.statistics
    #expect(parts.count == 2)
    #expect(parts.allSatisfy { $0.operationsCompleted >= 10 })
    #expect(
      total.operationsCompleted >= parts[0].operationsCompleted + parts[1].operationsCompleted)
    #expect(total.operationsInFlight == 0)
    await group.shutdown()
  }

  @Test func diagnosticsReportTheRingAndTheLastCounters() async throws {
    let reported = Locked<[ReactorDiagnostic]>([])
    var options = ReactorOptions()
    options.name = "diagnosed"
    options.ring.submissionQueuePollIdleMilliseconds = nil
    options.diagnostics = ReactorDiagnostics { diagnostic in
      reported.withLock { $0.append(diagnostic) }
    }
    let reactor = try Reactor(options: options)
    try await Task(executorPreference: reactor) { try await reactor.nop() }.value
    await reactor.shutdown()
    let diagnostics = reported.withLock { $0 }
    guard case .ringReady(let name, let setup, _) = diagnostics.first else {
      Issue.record("no ringReady first: \(diagnostics)")
      return
    }
    #expect(name == "diagnosed")
    #expect(setup == reactor.setup)
    let refused = diagnostics.compactMap { diagnostic -> String? in
      if case .flagRefused(_, let flag) = diagnostic { return flag }
      return nil
    }
    #expect(refused == reactor.setup.refused)
    guard case .stopped(_, let statistics) = diagnostics.last else {
      Issue.record("no stopped last: \(diagnostics)")
      return
    }
    #expect(statistics.operationsCompleted >= 1)
    #expect(statistics.operationsInFlight == 0)
  }
}
