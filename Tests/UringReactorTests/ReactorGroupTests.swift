import CLibUring
import Dispatch
import Glibc
import TestSupport
import Testing
import Uring

@testable import UringReactor

/// An actor pinned to one reactor of a group; counts what it receives and
/// whether each message ran on that reactor.
actor Sink {
  let reactor: Reactor
  private var received: [Int: Int] = [:]
  private var misplaced = 0

  init(on reactor: Reactor) { self.reactor = reactor }

  nonisolated var unownedExecutor: UnownedSerialExecutor { reactor.asUnownedSerialExecutor() }

  func receive(_ message: Int) {
    if Reactor.current !== reactor { misplaced += 1 }
    received[message, default: 0] += 1
  }

  func summary() -> (distinct: Int, duplicates: Int, misplaced: Int) {
    (received.count, received.values.filter { $0 != 1 }.count, misplaced)
  }
}

/// Groups whose offload pool was shut down are kept until the process ends:
/// `OffloadPool.deinit` detaches its threads even after `shutdown()` joined
/// them (undefined behaviour that ThreadSanitizer reports). Remove once
/// `Support/OffloadPool.swift` skips the detach for joined threads.
private let shutDownGroups = Locked<[ReactorGroup]>([])

extension ReactorGroup {
  /// `shutdown()`, keeping the group alive (see `shutDownGroups`).
  func shutdownForTest() async {
    await shutdown()
    shutDownGroups.withLock { $0.append(self) }
  }
}

/// Holds a reactor's loop thread inside one job until released.
final class LoopHold: Sendable {
  private let entered = DispatchSemaphore(value: 0)
  private let released = DispatchSemaphore(value: 0)

  /// On the loop: signals that the loop is held, then blocks it.
  func hold() {
    entered.signal()
    released.wait()
  }

  /// Blocks until the loop is held (a few microseconds).
  func waitUntilHeld() { entered.wait() }

  func release() { released.signal() }
}

@Suite(.requiresUring, .sharesProcess)
struct ReactorGroupTests {
  /// Tasks on every reactor call actors pinned to every other reactor, all at
  /// once: each call is a job sent across reactors (and its return another).
  /// Every message arrives exactly once, on the reactor it was sent to, and
  /// the traffic went in batches, woken by `IORING_OP_MSG_RING`.
  @Test func crossReactorStormDeliversEveryJobOnceOnItsReactor() async throws {
    let group = try ReactorGroup(reactorCount: 3)
    let reactors = group.reactors
    let sinks = reactors.map { Sink(on: $0) }
    let perPair = 2_000
    let sendersPerReactor = 4
    await withTaskGroup(of: Void.self) { tasks in
      for (from, reactor) in reactors.enumerated() {
        for sender in 0..<sendersPerReactor {
          tasks.addTask(executorPreference: reactor) {
            for round in 0..<perPair / sendersPerReactor {
              for (to, sink) in sinks.enumerated() where to != from {
                let message = (from * 1_000 + sender) * 1_000_000 + round
                await sink.receive(message)
              }
            }
          }
        }
      }
    }
    for (index, sink) in sinks.enumerated() {
      let summary = await sink.summary()
      #expect(summary.distinct == perPair * (reactors.count - 1), "sink \(index)")
      #expect(summary.duplicates == 0, "sink \(index) ran a job twice")
      #expect(summary.misplaced == 0, "sink \(index) ran a job on another reactor")
    }
    var sent = 0
    var batches = 0
    var messages = 0
    for reactor in reactors {
      let stats = await inspect(reactor) { $0.statistics }
      sent += stats.jobsSent
      batches += stats.batchesSent
      messages += stats.ringMessages
    }
    #expect(sent >= perPair * reactors.count * (reactors.count - 1))
    #expect(batches < sent, "jobs to one reactor travel in batches")
    if reactors[0].probe.supports(.msgRing) {
      #expect(messages > 0, "sleeping reactors were woken with IORING_OP_MSG_RING")
    }
    await group.shutdownForTest()
  }

  /// New tasks from outside the group are spread round-robin over its
  /// reactors' inboxes: with every reactor held, each inbox gets its share.
  @Test func newTasksAreSpreadRoundRobin() async throws {
    let group = try ReactorGroup(reactorCount: 3)
    let reactors = group.reactors
    let holds = reactors.map { _ in LoopHold() }
    for (reactor, hold) in zip(reactors, holds) {
      Task(executorPreference: reactor) { hold.hold() }
      hold.waitUntilHeld()
    }
    let ran = Tally(1)
    let tasks = (0..<30).map { _ in Task(executorPreference: group) { ran.add(0) } }
    let pending = reactors.map { $0.loop.remote.pendingCount }
    for hold in holds { hold.release() }
    for task in tasks { await task.value }
    #expect(pending == [10, 10, 10])
    #expect(ran.snapshot() == [30])
    await group.shutdownForTest()
  }

  /// A lone task that prefers the group stays on the reactor it landed on
  /// through its I/O completions, timers and yields (nothing wakes the idle
  /// sibling to take it); `Task.sleep` waits on that ring.
  @Test func aTaskStaysOnItsReactor() async throws {
    let group = try ReactorGroup(reactorCount: 2)
    let moves = try await Task(executorPreference: group) { () -> Int in
      let home = Reactor.current!
      var moves = 0
      for _ in 0..<50 {
        try await home.nop()
        if Reactor.current !== home { moves += 1 }
        try await Task.sleep(for: .microseconds(10))
        if Reactor.current !== home { moves += 1 }
        await Task.yield()
        if Reactor.current !== home { moves += 1 }
      }
      return moves
    }.value
    #expect(moves == 0)
    var scheduled = 0
    for reactor in group.reactors {
      scheduled += await inspect(reactor) { $0.statistics.delayedJobs }
    }
    #expect(scheduled == 50, "every sleep waited on the ring")
    await group.shutdownForTest()
  }

  /// Default size: one reactor per usable CPU; pinning puts reactor i on the
  /// i-th usable CPU.
  @Test func defaultSizeAndPinning() async throws {
    let cpus = ReactorGroup.usableCPUs
    let group = try ReactorGroup(pinning: .usableCPUs)
    #expect(group.count == cpus.count)
    for (index, reactor) in group.reactors.enumerated() {
      let affinity = await Task(executorPreference: reactor) { () -> [Int] in
        var set = [CInt](repeating: 0, count: 64)
        let count = Int(clu_usable_cpus(&set, 64))
        return set.prefix(max(0, count)).map(Int.init)
      }.value
      #expect(affinity == [cpus[index % cpus.count]])
      #expect(reactor.name == "uring-reactor-\(index)")
    }
    await group.shutdownForTest()
  }

  /// Blocking work goes to the group's offload pool, off the reactors; the
  /// pool is shut down with the group.
  @Test func offloadRunsOffTheReactorsAndStopsWithTheGroup() async throws {
    let group = try ReactorGroup(reactorCount: 1, offloadThreads: 1)
    let offReactor = try await Task(executorPreference: group) {
      try await group.offload { Reactor.current == nil }
    }.value
    #expect(offReactor)
    await group.shutdownForTest()
    await #expect(throws: OffloadPoolError.shutDown) {
      try await group.offload { 1 }
    }
  }
}
