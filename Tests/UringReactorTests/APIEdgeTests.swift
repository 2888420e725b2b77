import SystemPackage
import TestSupport
import Testing
import UringReactor

/// The rough edges of issue 16, item 7: a refused buffer access rethrown as
/// an `IOError`, and socket errors that name both ends of a stream.
@Suite(.requiresUring, .sharesProcess)
struct APIEdgeTests {
  @Test func aRefusedBufferAccessIsAnIOError() async throws {
    try await withReactor { reactor in
      let (reader, writer) = try SocketStream.pair(on: reactor)
      let buffer = SharedBuffer(capacity: 64)
      // A read into the buffer waits for data: the kernel may write it.
      async let read = reader.read(into: buffer)
      while !buffer.isKernelWriting { await Task.yield() }
      let thrown: IOError? = await { () async -> IOError? in
        do throws(IOError) {
          _ = try IOError.rethrowing(
            buffer.withBytes { (span: RawSpan) throws(Never) in span.byteCount })
          return nil
        } catch {
          return error
        }
      }()
      #expect(thrown?.kind == .memoryBusy(MemoryAccessError(.kernelWriting)))
      #expect(thrown?.operation == .bufferAccess)
      #expect(thrown?.errno == .resourceBusy)
      #expect("\(thrown!)".hasPrefix("buffer access: "), "\(thrown!)")
      try await writer.writeAll(copying: [1, 2, 3])
      #expect(try await read == 3)
    }
  }

  @Test func aBodysIOErrorPassesThroughUnchanged() throws {
    let buffer = SharedBuffer([1, 2, 3])
    let expected = IOError(.timedOut, operation: .read)
    do throws(BufferAccessError<IOError>) {
      try buffer.withBytes { (_: RawSpan) throws(IOError) in throw expected }
    } catch {
      #expect(IOError(error) == expected)
    }
  }

  @Test func aSendErrorNamesBothAddresses() async throws {
    try await withReactor { reactor in
      let listener = try await SocketListener.listen(at: .loopbackIPv4(port: 0), on: reactor)
      let client = try await SocketStream.connect(to: listener.localAddress, on: reactor)
      let server = try await listener.accept()
      let local = try await client.localAddress()
      try await client.shutdown(.write)
      // SHUT_WR: every later send fails with EPIPE, deterministically.
      let error = await #expect(throws: IOError.self) {
        try await client.writeAll(copying: Array("late".utf8))
      }
      #expect(error?.isBrokenPipe == true)
      #expect(error?.localAddress == local)
      #expect(error?.address == listener.localAddress)
      #expect(
        "\(error!)".contains("\(local) -> \(listener.localAddress): "), "\(error!)")
      _ = server
    }
  }

  @Test func anUnnamedUnixPeerIsLeftOutOfTheMessage() async throws {
    try await withReactor { reactor in
      let (a, _) = try SocketStream.pair(on: reactor)
      try await a.shutdown(.write)
      let error = await #expect(throws: IOError.self) {
        try await a.writeAll(copying: [1])
      }
      #expect(error?.isBrokenPipe == true)
      #expect(!"\(error!)".contains("unix:"), "\(error!)")
    }
  }
}
