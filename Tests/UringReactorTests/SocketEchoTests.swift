import Glibc
import TestSupport
import Testing

@testable import UringReactor

/// Echoes every connection of `listener` (receive + writeAll of the same
/// buffer) until each peer closes; returns how many connections it served.
func serveEcho(_ listener: SocketListener, connections: Int, on reactor: Reactor) -> Task<
  Int, any Error
> {
  Task(executorPreference: reactor) {
    try await withThrowingTaskGroup(of: Void.self) { group in
      var accepted = 0
      for try await connection in listener.connections {
        group.addTask(executorPreference: reactor) {
          while let bytes = try await connection.receive() {
            try await connection.writeAll(bytes)
          }
          try await connection.shutdown(.write)
          try await connection.close()
        }
        accepted += 1
        if accepted == connections { break }
      }
      try await group.waitForAll()
      return accepted
    }
  }
}

@Suite(.requiresUring, .sharesProcess, .serialized)
struct SocketEchoTests {
  /// 1,000 connections at once, each sending a random payload of random size
  /// in random pieces while reading the echo: every byte comes back, in order.
  @Test(.ownsProcess) func thousandConcurrentConnectionsEchoEveryByteInOrder() async throws {
    let connectionCount = 1_000
    #expect(raiseDescriptorLimit() >= 2 * connectionCount + 64)
    let descriptorsBefore = openDescriptorCount()
    try await withReactor { reactor in
      let listener = try await SocketListener.listen(at: .loopbackIPv4(port: 0), on: reactor)
      let server = serveEcho(listener, connections: connectionCount, on: reactor)
      let address = listener.localAddress
      let echoed = try await withThrowingTaskGroup(of: Int.self) { group in
        for index in 0..<connectionCount {
          group.addTask(executorPreference: reactor) {
            var random = SeededRandom(seed: UInt64(index) + 1)
            let payload = random.bytes(Int.random(in: 1...16_384, using: &random))
            let client = try await SocketStream.connect(to: address, on: reactor)
            let reader = Task(executorPreference: reactor) { try await client.receiveAll() }
            var offset = 0
            while offset < payload.count {
              let piece = min(payload.count - offset, Int.random(in: 1...4_096, using: &random))
              try await client.writeAll(copying: payload[offset..<offset + piece])
              offset += piece
            }
            try await client.shutdown(.write)
            let back = try await reader.value
            try await client.close()
            #expect(back == payload, "connection \(index): \(back.count) of \(payload.count) bytes")
            return back == payload ? 1 : 0
          }
        }
        return try await group.reduce(0, +)
      }
      #expect(echoed == connectionCount)
      #expect(try await server.value == connectionCount)
      try await listener.close()
    }
    #expect(openDescriptorCount() == descriptorsBefore)
  }

  /// Hundreds of clients connect at once from plain threads while the accept
  /// queue holds at most 4: the multishot accept pauses and re-arms, and
  /// every client is served.
  @Test(.ownsProcess) func acceptStormWithSmallPendingQueue() async throws {
    let clientCount = 300
    raiseDescriptorLimit()
    let descriptorsBefore = openDescriptorCount()
    try await withReactor { reactor in
      let listener = try await SocketListener.listen(
        at: .loopbackIPv4(port: 0), backlog: 1024, on: reactor)
      let served = Task(executorPreference: reactor) { () async throws -> Int in
        try await withThrowingTaskGroup(of: Void.self) { group in
          var accepted = 0
          for try await connection in listener.connections(maximumPending: 4) {
            group.addTask(executorPreference: reactor) {
              while let bytes = try await connection.receive() {
                try await connection.writeAll(bytes)
              }
              try await connection.close()
            }
            accepted += 1
            if accepted == clientCount { break }
          }
          try await group.waitForAll()
          return accepted
        }
      }
      let address = listener.localAddress
      let answers = try await withThrowingTaskGroup(of: Bool.self) { group in
        for index in 0..<clientCount {
          group.addTask {
            try await onThread {
              let client = try RawSocket(connectingTo: address)
              let message = Array("client \(index)".utf8)
              try client.send(message)
              return try client.receive(message.count) == message
            }
          }
        }
        return try await group.reduce(into: 0) { $0 += $1 ? 1 : 0 }
      }
      #expect(answers == clientCount)
      #expect(try await served.value == clientCount)
      try await listener.close()
    }
    #expect(openDescriptorCount() == descriptorsBefore)
  }

  /// Connections accepted by the multishot accept but never taken are
  /// closed when the iteration ends (rule 4): their clients read end of
  /// stream, and no descriptor leaks.
  @Test(.ownsProcess) func connectionsNobodyTookAreClosed() async throws {
    let descriptorsBefore = openDescriptorCount()
    try await withReactor { reactor in
      let listener = try await SocketListener.listen(at: .loopbackIPv4(port: 0), on: reactor)
      let address = listener.localAddress
      let gate = Gate()
      let server = Task(executorPreference: reactor) { () async throws -> SocketStream? in
        var iterator = listener.connections(maximumPending: 8).makeAsyncIterator()
        let first = try await iterator.next()
        await gate.wait()
        return first  // The iterator ends here, with two connections queued.
      }
      let client = try await SocketStream.connect(to: address, on: reactor)
      let baseline = openDescriptorCount()
      let lateClients = (0..<2).map { _ in
        Task { try await onThread { try RawSocket(connectingTo: address).receive(1) } }
      }
      // Two client sockets, then the two the multishot accept takes into its
      // queue: wait (through the loop, no sleeping) until all four exist.
      var rounds = 0
      while openDescriptorCount() < baseline + 4, rounds < 100_000 {
        try await Task(executorPreference: reactor) { try await reactor.nop() }.value
        rounds += 1
      }
      #expect(openDescriptorCount() == baseline + 4)
      gate.open()
      let taken = try #require(try await server.value)
      for late in lateClients {
        #expect(try await late.value == [], "a queued connection was closed: end of stream")
      }
      try await taken.close()
      try await client.close()
      try await listener.close()
    }
    #expect(openDescriptorCount() == descriptorsBefore)
  }
}

/// A one-shot gate: `wait()` suspends until `open()`.
final class Gate: Sendable {
  private let state = Locked<(open: Bool, waiters: [UnsafeContinuation<Void, Never>])>(
    (false, []))

  func wait() async {
    await withUnsafeContinuation { continuation in
      let resumeNow = state.withLock { state -> Bool in
        if state.open { return true }
        state.waiters.append(continuation)
        return false
      }
      if resumeNow { continuation.resume() }
    }
  }

  func open() {
    let waiters = state.withLock { state -> [UnsafeContinuation<Void, Never>] in
      state.open = true
      defer { state.waiters = [] }
      return state.waiters
    }
    for waiter in waiters { waiter.resume() }
  }
}
