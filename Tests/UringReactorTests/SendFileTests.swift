import Glibc
import TestSupport
import Testing

@testable import UringReactor

/// `SocketStream.send(file:range:)`: file bytes spliced to a socket through a
/// pooled pipe, and `writeAll(_: FileChunk)`.
@Suite(.requiresUring, .sharesProcess, .serialized)
struct SendFileTests {
  /// A file of `count` random bytes (seeded), opened for reading on `reactor`.
  static func randomFile(_ name: String, _ count: Int, seed: UInt64, on reactor: Reactor)
    async throws -> (File, [UInt8], String)
  {
    var random = SeededRandom(seed: seed)
    let bytes = random.bytes(count)
    let path = temporaryFile(name, bytes)
    let file = try await File.open(path, .readOnly, on: reactor)
    return (file, bytes, path)
  }

  /// Idle pipes in the reactor's pool.
  static func idlePipes(_ reactor: Reactor) async -> Int {
    await inspect(reactor) { $0.splicePipes.idleCount }
  }

  /// A 4 MiB file, many times the socket buffer, to a reader that takes its
  /// time: every byte arrives in order, the file and the stream are unharmed,
  /// the pipe goes back to the pool empty, and once the reactor is gone no
  /// descriptor (file, socket, pipe) is left open.
  @Test(.ownsProcess) func aFileLargerThanTheSocketBufferReachesASlowReader() async throws {
    let descriptorsBefore = openDescriptorCount()
    try await withReactor { reactor in
      let (file, bytes, path) = try await Self.randomFile(
        "sendfile-large", 4 << 20, seed: 1, on: reactor)
      defer { unlink(path) }
      let (writer, reader) = try SocketStream.pair(on: reactor)
      let sending = Task(executorPreference: reactor) { () async throws -> Int in
        let sent = try await writer.send(file: file)
        try await writer.shutdown(.write)
        return sent
      }
      let received = try await Task(executorPreference: reactor) { () async throws -> [UInt8] in
        var received: [UInt8] = []
        while let chunk = try await reader.receive() {
          chunk.withUnsafeBytes { received.append(contentsOf: $0) }
          for _ in 0..<3 { try await reactor.nop() }
        }
        return received
      }.value
      #expect(try await sending.value == bytes.count)
      #expect(received == bytes)
      #expect(await Self.idlePipes(reactor) == 1, "the emptied pipe is pooled")
      try await file.close()
      try await writer.close()
      try await reader.close()
    }
    #expect(openDescriptorCount() == descriptorsBefore)
  }

  /// A range sends exactly those bytes; a range past the end stops at the
  /// end of the file (fewer bytes, no error); an empty range sends nothing;
  /// two sends in a row reuse the one pooled pipe.
  @Test func aRangeSendsExactlyItsBytes() async throws {
    try await withReactor { reactor in
      let recorder = OperationRecorder()
      try await recorder.install(on: reactor)
      let (file, bytes, path) = try await Self.randomFile(
        "sendfile-range", 300_000, seed: 2, on: reactor)
      defer { unlink(path) }
      let (writer, reader) = try SocketStream.pair(on: reactor)
      #expect(try await writer.send(file: file, range: 1_000..<70_001) == 69_001)
      #expect(try await reader.receive(exactly: 69_001) == Array(bytes[1_000..<70_001]))
      #expect(try await writer.send(file: file, range: 299_990..<400_000) == 10)
      #expect(try await reader.receive(exactly: 10) == Array(bytes[299_990...]))
      let splices = recorder.preparedCount(.splice)
      #expect(try await writer.send(file: file, range: 5..<5) == 0)
      #expect(recorder.preparedCount(.splice) == splices, "nothing submitted")
      #expect(await Self.idlePipes(reactor) == 1)
      try await file.close()
      try await writer.close()
      try await reader.close()
    }
  }

  /// The reader resets the connection midway: the send fails with
  /// `ECONNRESET` or `EPIPE` (operation `.splice`, the peer's address), the
  /// pipe, which may hold unsent bytes, is not pooled, and no descriptor is
  /// left open.
  @Test(.ownsProcess) func aReaderThatResetsMidwayFailsTheSendAndLeaksNothing() async throws {
    let descriptorsBefore = openDescriptorCount()
    try await withReactor { reactor in
      let (file, _, path) = try await Self.randomFile(
        "sendfile-reset", 8 << 20, seed: 3, on: reactor)
      defer { unlink(path) }
      let listener = try await SocketListener.listen(at: .loopbackIPv4(port: 0), on: reactor)
      let address = listener.localAddress
      let peer = Task {
        try await onThread { () throws -> Int in
          let socket = try RawSocket(connectingTo: address)
          let received = try socket.receive(100_000).count
          socket.resetOnClose()
          return received
        }
      }
      let writer = try await listener.accept()
      try await writer.apply(SocketOptions(sendBufferSize: 4096))
      do {
        try await writer.send(file: file)
        Issue.record("the send outlived the reset")
      } catch let error as IOError {
        #expect(error.isConnectionReset || error.isBrokenPipe, "\(error)")
        #expect(error.operation == .splice)
        #expect(error.address == writer.remoteAddress)
      }
      #expect(try await peer.value == 100_000)
      #expect(await Self.idlePipes(reactor) == 0, "a pipe that may hold bytes is dropped")
      try await file.close()
      try await writer.close()
      try await listener.close()
    }
    #expect(openDescriptorCount() == descriptorsBefore)
  }

  /// Cancelled while the pipe -> socket splice waits for room: one
  /// `IORING_OP_ASYNC_CANCEL`, the call returns only after the splice's own
  /// CQE (its slot released: nothing left in flight), throws `.cancelled`,
  /// and drops the pipe; the stream still works.
  @Test(.ownsProcess) func cancellingMidwayWaitsForTheCompletionAndDropsThePipe() async throws {
    let descriptorsBefore = openDescriptorCount()
    try await withReactor { reactor in
      let recorder = OperationRecorder()
      try await recorder.install(on: reactor)
      let (file, _, path) = try await Self.randomFile(
        "sendfile-cancel", 8 << 20, seed: 4, on: reactor)
      defer { unlink(path) }
      let (writer, reader) = try SocketStream.pair(on: reactor)
      try await writer.apply(SocketOptions(sendBufferSize: 4096))
      let sending = Task(executorPreference: reactor) { try await writer.send(file: file) }
      // File -> pipe, then pipe -> socket, which fills the socket and waits.
      await recorder.waitUntilPrepared(.splice, count: 2)
      try await waitOnLoop(reactor) { _ in
        recorder.preparedCount(.splice) == recorder.completedCount(.splice) + 1
      }
      sending.cancel()
      do {
        _ = try await sending.value
        Issue.record("the send completed")
      } catch let error as IOError {
        #expect(error.kind == .cancelled)
        #expect(error.operation == .splice)
      }
      #expect(recorder.preparedCount(.asyncCancel) == 1)
      #expect(recorder.preparedCount(.splice) == recorder.completedCount(.splice))
      #expect(await Self.idlePipes(reactor) == 0)
      // The stream still carries bytes (after what the socket had taken,
      // which the reader drains first).
      let reading = Task(executorPreference: reactor) { try await reader.receiveAll() }
      try await writer.writeAll(copying: Array("after".utf8))
      try await writer.shutdown(.write)
      let tail = try await reading.value
      #expect(tail.suffix(5) == Array("after".utf8))
      try await file.close()
      try await writer.close()
      try await reader.close()
    }
    #expect(openDescriptorCount() == descriptorsBefore)
  }

  /// A file of another reactor is refused before anything is submitted.
  @Test func aFileOfAnotherReactorIsRefused() async throws {
    try await withReactor { reactor in
      try await withReactor { other in
        let (file, _, path) = try await Self.randomFile("sendfile-other", 10, seed: 5, on: other)
        defer { unlink(path) }
        let (writer, reader) = try SocketStream.pair(on: reactor)
        await #expect(throws: IOError.self) { try await writer.send(file: file) }
        try await file.close()
        try await writer.close()
        try await reader.close()
      }
    }
  }

  /// Chunks read from a file are sent from their own buffers.
  @Test func chunksOfAFileAreSentInPlace() async throws {
    try await withReactor { reactor in
      let (file, bytes, path) = try await Self.randomFile(
        "sendfile-chunks", 200_000, seed: 6, on: reactor)
      defer { unlink(path) }
      let (writer, reader) = try SocketStream.pair(on: reactor)
      let sending = Task(executorPreference: reactor) {
        for try await chunk in file.chunks(chunkSize: 65_536, readAhead: 2) {
          try await writer.writeAll(chunk)
        }
        try await writer.shutdown(.write)
      }
      let received = try await Task(executorPreference: reactor) { try await reader.receiveAll() }
        .value
      try await sending.value
      #expect(received == bytes)
      try await file.close()
      try await writer.close()
      try await reader.close()
    }
  }
}
