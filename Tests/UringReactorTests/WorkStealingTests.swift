import Dispatch
import Glibc
import Synchronization
import SystemPackage
import TestSupport
import Testing

@testable import UringReactor

/// Work stealing between the reactors of a group (`GroupScheduler`): ready
/// group jobs queued on a busy reactor run on an idle one; nothing runs twice
/// or is lost; a task moves only between its awaits, never while it waits in a
/// reactor's I/O call.
@Suite(.requiresUring, .sharesProcess)
struct WorkStealingTests {
  /// A task computing on reactor 0 (its thread blocked, as by a long
  /// computation) does not hold up the ready tasks queued behind it there:
  /// reactor 1 takes every one of them. Without stealing they would wait
  /// for the computation, which waits for them: the bounded wait fails.
  @Test func readyTasksRunOnTheIdleReactorWhileOneComputes() async throws {
    let group = try ReactorGroup(reactorCount: 2)
    let reactors = group.reactors
    let count = 200
    let placements = Tally(2)
    let finished = Counter()
    let allRan = DispatchSemaphore(value: 0)
    let sawAllRun = await Task(executorPreference: reactors[0]) { () -> Bool in
      for _ in 0..<count {
        Task(executorPreference: group) {
          placements.add(reactors.firstIndex { $0 === Reactor.current }!)
          if finished.increment() == count {
            allRan.signal()
          }
        }
      }
      // Computes (blocks this loop thread) until the tasks it made ready have
      // run; the bound only keeps a broken scheduler from hanging the suite.
      return allRan.wait(timeout: .now() + .seconds(60)) == .success
    }.value
    #expect(sawAllRun, "ready tasks waited behind a computing task")
    #expect(placements.snapshot() == [0, count])
    let stolen = await inspect(reactors[1]) { $0.statistics.jobsStolen }
    #expect(stolen == count)
    await group.shutdownForTest()
  }

  /// A million tasks spawned from one reactor (through a bounded window), both
  /// reactors running and stealing them: each runs exactly once, and the
  /// parent collects each result exactly once.
  @Test func aMillionTasksRunExactlyOnce() async throws {
    let group = try ReactorGroup(reactorCount: 2)
    let total = 1_000_000
    let window = 10_000
    let bodies = Counter()
    let (collected, duplicates) = await Task(executorPreference: group.reactors[0]) {
      () -> (Int, Int) in
      await withTaskGroup(of: Int.self) { tasks in
        var seen = [Bool](repeating: false, count: total)
        var collected = 0
        var duplicates = 0
        func collect(_ index: Int) {
          if seen[index] { duplicates += 1 }
          seen[index] = true
          collected += 1
        }
        for index in 0..<total {
          if index >= window, let done = await tasks.next() { collect(done) }
          tasks.addTask(executorPreference: group) {
            bodies.increment()
            return index
          }
        }
        for await done in tasks { collect(done) }
        return (collected, duplicates)
      }
    }.value
    #expect(collected == total)
    #expect(duplicates == 0)
    #expect(bodies.value == total)
    await group.shutdownForTest()
  }

  /// A task that moves to the other reactor between two reads of a file
  /// opened on reactor 0 completes both correctly: the second read hops
  /// back to reactor 0's ring, which owns the file, and returns the data.
  @Test func aTaskMovedBetweenTwoReadsCompletesBoth() async throws {
    let group = try ReactorGroup(reactorCount: 2)
    let reactors = group.reactors
    let path = FilePath("/tmp/uring-reactor-test-\(getpid())-work-stealing")
    defer { unlink(path.string) }
    let contents = (0..<8192).map { UInt8(truncatingIfNeeded: $0 &* 31) }
    let file = try await File.open(
      path, .readWrite, options: [.create, .truncate], permissions: .ownerReadWrite,
      on: reactors[0])
    _ = try await file.write(from: SharedBuffer(contents), at: 0)
    let hold = LoopHold()
    let result = try await Task(executorPreference: reactors[0]) {
      try await withThrowingTaskGroup(of: (Int?, Int?, [UInt8], [UInt8]).self) { tasks in
        tasks.addTask(executorPreference: group) {
          let first = SharedBuffer(capacity: 4096)
          _ = try await file.read(into: first, at: 0)
          let before = reactors.firstIndex { $0 === Reactor.current }
          // Suspend; a task pinned to reactor 0 then wakes this one (queued
          // on reactor 0, the oldest of its two queued group jobs, so a
          // sleeping reactor 1 is woken to take it) and holds reactor 0:
          // only reactor 1 can run this task now.
          await withUnsafeContinuation { (continuation: UnsafeContinuation<Void, Never>) in
            Task(executorPreference: reactors[0]) {
              continuation.resume()
              Task(executorPreference: group) {}
              hold.hold()
            }
          }
          let after = reactors.firstIndex { $0 === Reactor.current }
          hold.release()
          let second = SharedBuffer(capacity: 4096)
          _ = try await file.read(into: second, at: 4096)
          return (before, after, try first.bytes(), try second.bytes())
        }
        return try await tasks.next()!
      }
    }.value
    #expect(result.0 == 0)
    #expect(result.1 == 1, "the task did not move")
    #expect(result.2 == Array(contents[..<4096]))
    #expect(result.3 == Array(contents[4096...]))
    try await file.close()
    await group.shutdownForTest()
  }

  /// A chain of tasks each waking the next (a parent awaiting one child at
  /// a time) never has two jobs queued: it wakes no sibling, so it does not
  /// bounce between CPUs.
  @Test func aChainOfTasksWakesNoSibling() async throws {
    let group = try ReactorGroup(reactorCount: 2)
    let reactors = group.reactors
    let sum = await Task(executorPreference: reactors[0]) { () -> Int in
      var sum = 0
      for index in 0..<1_000 {
        sum += await Task(executorPreference: group) { index }.value
      }
      return sum
    }.value
    #expect(sum == 999 * 1_000 / 2)
    let woken = await inspect(reactors[0]) { $0.statistics.siblingsWoken }
    #expect(woken == 0)
    await group.shutdownForTest()
  }
}

/// A count any thread may add to.
final class Counter: Sendable {
  private let count = Atomic<Int>(0)

  /// Adds one; returns the new count.
  @discardableResult
  func increment() -> Int { count.add(1, ordering: .acquiringAndReleasing).newValue }

  var value: Int { count.load(ordering: .acquiring) }
}
