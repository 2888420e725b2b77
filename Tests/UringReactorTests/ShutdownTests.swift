import Glibc
import SystemPackage
import TestSupport
import Testing
import UringReactor

@Suite(.requiresUring, .sharesProcess)
struct ShutdownTests {
  @Test(.ownsProcess) func shutdownWithThousandsInFlightResumesEveryWaiter() async throws {
    let before = openDescriptorCount()
    let pipes = 64
    let readsPerPipe = 40
    do {
      let reactor = try Reactor()
      let recorder = OperationRecorder()
      try await recorder.install(on: reactor)
      var ends: [(File, FileDescriptor)] = []
      for _ in 0..<pipes {
        let fds = try FileDescriptor.pipe()
        ends.append((File(adopting: fds.readEnd, on: reactor), fds.writeEnd))
      }
      let files = ends.map(\.0)
      let outcomes = Tally(3)
      await withTaskGroup(of: Void.self) { group in
        for file in files {
          for _ in 0..<readsPerPipe {
            group.addTask(executorPreference: reactor) {
              do {
                _ = try await file.read(into: SharedBuffer(capacity: 128))
                outcomes.add(0)
              } catch {
                outcomes.add((error as? IOError)?.kind == .reactorShutDown ? 1 : 2)
              }
            }
          }
        }
        await recorder.waitUntilPrepared(.read, count: pipes * readsPerPipe)
        await reactor.shutdown()
        await group.waitForAll()
      }
      #expect(outcomes.snapshot() == [0, pipes * readsPerPipe, 0])
      // Operations after shutdown fail instead of hanging.
      await #expect(throws: IOError(.reactorShutDown, operation: .nop)) {
        try await reactor.nop()
      }
      await #expect(throws: IOError(.reactorShutDown, operation: .nop)) {
        try await Task(executorPreference: reactor) { try await reactor.nop() }.value
      }
      for (_, writeEnd) in ends { try writeEnd.close() }
    }
    #expect(openDescriptorCount() == before)
  }

  @Test(.ownsProcess) func shutdownIsIdempotentAndDeinitJoins() async throws {
    let before = openDescriptorCount()
    do {
      let reactor = try Reactor()
      try await reactor.nop()
      await reactor.shutdown()
      await reactor.shutdown()
      reactor.shutdownBlocking()
    }
    do {
      let reactor = try Reactor()
      try await reactor.nop()
      // Dropped without shutdown: deinit shuts down and joins.
    }
    #expect(openDescriptorCount() == before)
  }

  @Test func shutdownFromATaskOnTheReactor() async throws {
    let reactor = try Reactor()
    await Task(executorPreference: reactor) { await reactor.shutdown() }.value
    await #expect(throws: IOError.self) { try await reactor.nop() }
  }
}
