import Glibc
import TestSupport
import Testing

@testable import UringReactor

@Suite(.requiresUring, .sharesProcess, .serialized)
struct SocketFailureTests {
  /// Clients that reset their connection mid-request (`SO_LINGER` 0): the
  /// server's receive throws `ECONNRESET`, a write to it `EPIPE` or
  /// `ECONNRESET`, and every other connection is served as if nothing happened.
  @Test(.ownsProcess) func vanishingClientsDoNotDisturbTheOthers() async throws {
    let descriptorsBefore = openDescriptorCount()
    try await withReactor { reactor in
      let listener = try await SocketListener.listen(at: .loopbackIPv4(port: 0), on: reactor)
      let address = listener.localAddress
      let vanishing = 8
      // The server reads the first half of each request; the client vanishes
      // once it is read; the server reads on and must see the reset.
      let halfRead = Tally(1)
      let outcomes = Locked<[String]>([])
      let server = Task(executorPreference: reactor) { () async throws in
        try await withThrowingTaskGroup(of: Void.self) { group in
          var accepted = 0
          for try await connection in listener.connections {
            group.addTask(executorPreference: reactor) {
              do {
                let first = try await connection.receive(exactly: 5)
                if first == Array("HALF-".utf8) {
                  halfRead.add(0)
                  let more = try await connection.receive()?.count ?? 0
                  outcomes.withLock { $0.append("read \(more) bytes after a reset") }
                } else {
                  try await connection.writeAll(copying: first)
                  while let bytes = try await connection.receive() {
                    try await connection.writeAll(bytes)
                  }
                }
              } catch let error as IOError {
                outcomes.withLock { $0.append(error.isConnectionReset ? "reset" : "\(error)") }
                #expect(error.address != nil, "the error names the peer")
                // Writing to the vanished peer is a typed error too, not SIGPIPE.
                do {
                  try await connection.writeAll(copying: Array("late".utf8))
                  try await connection.writeAll(copying: Array("late".utf8))
                  outcomes.withLock { $0.append("wrote to a reset connection") }
                } catch let error as IOError {
                  #expect(error.isBrokenPipe || error.isConnectionReset, "\(error)")
                }
              }
              try await connection.close()
            }
            accepted += 1
            if accepted == vanishing + 1 { break }
          }
          try await group.waitForAll()
        }
      }
      let healthy = try await SocketStream.connect(to: address, on: reactor)
      try await healthy.writeAll(copying: Array("hello".utf8))
      #expect(try await healthy.receive(exactly: 5) == Array("hello".utf8))
      for _ in 0..<vanishing {
        let client = try RawSocket(connectingTo: address)
        try client.send(Array("HALF-".utf8))
        let before = halfRead.snapshot()[0]
        var rounds = 0
        while halfRead.snapshot()[0] == before, rounds < 100_000 {
          try await Task(executorPreference: reactor) { try await reactor.nop() }.value
          rounds += 1
        }
        client.resetOnClose()
        // `client` goes out of scope: close(2) with SO_LINGER 0 sends an RST.
      }
      // The healthy connection still echoes, after all the resets.
      try await healthy.writeAll(copying: Array("still here".utf8))
      #expect(try await healthy.receive(exactly: 10) == Array("still here".utf8))
      try await healthy.shutdown(.write)
      #expect(try await healthy.receive() == nil)
      try await server.value
      #expect(outcomes.withLock { $0 } == Array(repeating: "reset", count: vanishing))
      try await healthy.close()
      try await listener.close()
    }
    #expect(openDescriptorCount() == descriptorsBefore)
  }

  @Test func connectionRefusedIsTypedAndNamesTheAddress() async throws {
    try await withReactor { reactor in
      // A port nobody listens on: bind one, note it, close it.
      let listener = try await SocketListener.listen(at: .loopbackIPv4(port: 0), on: reactor)
      let address = listener.localAddress
      try await listener.close()
      do {
        _ = try await SocketStream.connect(to: address, on: reactor)
        Issue.record("connected to a closed port")
      } catch let error as IOError {
        #expect(error.isConnectionRefused)
        #expect(error.operation == .connect)
        #expect(error.address == address)
        #expect("\(error)".contains("\(address)"))
      }
    }
  }

  @Test func addressInUseIsTyped() async throws {
    try await withReactor { reactor in
      let first = try await SocketListener.listen(at: .loopbackIPv4(port: 0), on: reactor)
      do {
        _ = try await SocketListener.listen(at: first.localAddress, on: reactor)
        Issue.record("bound an address in use")
      } catch let error as IOError {
        #expect(error.isAddressInUse)
        #expect(error.operation == .bind)
        #expect(error.address == first.localAddress)
      }
      // With SO_REUSEPORT on both, the kernel shares the port.
      let a = try await SocketListener.listen(
        at: .loopbackIPv4(port: 0), options: SocketOptions(reusePort: true), on: reactor)
      let b = try await SocketListener.listen(
        at: a.localAddress, options: SocketOptions(reusePort: true), on: reactor)
      #expect(a.localAddress == b.localAddress)
      for listener in [first, a, b] { try await listener.close() }
    }
  }

  /// A connect whose SYN is dropped (the listener's accept queue is full)
  /// gives up at its deadline: the kernel cancels it through the linked
  /// `IORING_OP_LINK_TIMEOUT`.
  @Test(.ownsProcess) func connectGivesUpAtItsDeadline() async throws {
    let descriptorsBefore = openDescriptorCount()
    try await withReactor { reactor in
      let recorder = OperationRecorder()
      try await recorder.install(on: reactor)
      // Backlog 0: one connection fills the accept queue; nobody accepts.
      let listener = try await SocketListener.listen(
        at: .loopbackIPv4(port: 0), backlog: 0, on: reactor)
      let address = listener.localAddress
      let queued = try await SocketStream.connect(to: address, timeout: .seconds(5), on: reactor)
      do {
        _ = try await SocketStream.connect(to: address, timeout: .milliseconds(50), on: reactor)
        Issue.record("connected past a full accept queue")
      } catch let error as IOError {
        #expect(error.kind == .timedOut)
        #expect(error.operation == .connect)
        #expect(error.address == address)
      }
      #expect(recorder.preparedCount(.linkTimeout) == 2)
      try await queued.close()
      try await listener.close()
    }
    #expect(openDescriptorCount() == descriptorsBefore)
  }

  @Test func operationsOnAClosedStreamFailWithEBADF() async throws {
    try await withReactor { reactor in
      let (a, b) = try SocketStream.pair(on: reactor)
      try await a.close()
      await #expect(throws: IOError.self) { try await a.close() }
      await #expect(throws: IOError.self) { try await a.writeAll(copying: [1]) }
      do {
        _ = try await a.receive()
        Issue.record("received on a closed stream")
      } catch let error as IOError {
        #expect(error.kind == .system(.badFileDescriptor))
      }
      // The peer sees end of stream.
      #expect(try await b.receive() == nil)
      try await b.close()
    }
  }
}
