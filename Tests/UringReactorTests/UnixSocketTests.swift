import Glibc
import SystemPackage
import TestSupport
import Testing

@testable import UringReactor

@Suite(.requiresUring, .sharesProcess, .serialized)
struct UnixSocketTests {
  static func socketPath(_ name: String) -> String {
    "/tmp/uring-reactor-test-\(getpid())-\(name).sock"
  }

  /// A Unix-domain listener and client, by path: echo through it.
  @Test(.ownsProcess) func streamOverAPath() async throws {
    let path = Self.socketPath("stream")
    unlink(path)
    defer { unlink(path) }
    let descriptorsBefore = openDescriptorCount()
    try await withReactor { reactor in
      let address = try SocketAddress(parsing: "unix:" + path)
      let listener = try await SocketListener.listen(at: address, on: reactor)
      #expect(listener.localAddress == address)
      let server = serveEcho(listener, connections: 1, on: reactor)
      let client = try await SocketStream.connect(to: address, on: reactor)
      try await client.writeAll(copying: Array("over a path".utf8))
      try await client.shutdown(.write)
      #expect(try await client.receiveAll() == Array("over a path".utf8))
      #expect(try await server.value == 1)
      try await client.close()
      try await listener.close()
    }
    #expect(openDescriptorCount() == descriptorsBefore)
  }

  /// Descriptors travel with bytes (`SCM_RIGHTS`): the receiver gets its own
  /// descriptor for the sender's pipe, even though the sender closed its own
  /// right after sending.
  @Test(.ownsProcess) func descriptorsPassOverAUnixSocket() async throws {
    let descriptorsBefore = openDescriptorCount()
    try await withReactor { reactor in
      let (sender, receiver) = try SocketStream.pair(on: reactor)
      let pipe = try FileDescriptor.pipe()
      let sent = try await sender.send(Array("fd".utf8), descriptors: [pipe.writeEnd])
      #expect(sent == 2)
      try pipe.writeEnd.close()
      let message = try await receiver.receiveMessage()
      #expect(message.bytes == Array("fd".utf8))
      #expect(message.descriptors.count == 1)
      #expect(!message.descriptorsTruncated)
      let received = try #require(message.descriptors.first)
      #expect(fcntl(received.rawValue, F_GETFD) & FD_CLOEXEC != 0)
      _ = try received.writeAll(Array("through the passed descriptor".utf8))
      try received.close()
      var bytes = [UInt8](repeating: 0, count: 64)
      let count = try bytes.withUnsafeMutableBytes { try pipe.readEnd.read(into: $0) }
      #expect(Array(bytes[..<count]) == Array("through the passed descriptor".utf8))
      try pipe.readEnd.close()
      // More descriptors than the receiver has room for: the rest are closed
      // by the kernel, and the receiver is told.
      let extra = try FileDescriptor.pipe()
      _ = try await sender.send([1], descriptors: [extra.readEnd, extra.writeEnd])
      try extra.readEnd.close()
      try extra.writeEnd.close()
      let cut = try await receiver.receiveMessage(maximumDescriptors: 1)
      #expect(cut.descriptors.count == 1)
      #expect(cut.descriptorsTruncated)
      for descriptor in cut.descriptors { try descriptor.close() }
      try await sender.close()
      try await receiver.close()
    }
    #expect(openDescriptorCount() == descriptorsBefore)
  }

  /// Rule 4: a receive whose task gave up (its cancellation lost the race
  /// with the kernel) closes the descriptors that arrived anyway.
  @Test(.ownsProcess) func descriptorsReceivedForACancelledTaskAreClosed() async throws {
    let descriptorsBefore = openDescriptorCount()
    try await withReactor { reactor in
      let recorder = OperationRecorder()
      try await recorder.install(on: reactor)
      // Mark the recvmsg abandoned as soon as it is prepared, as a
      // cancellation that arrived after the kernel had completed it would.
      recorder.onPrepared.withLock {
        $0 = { userData, opcode, loop in
          guard opcode == .recvmsg else { return }
          _ = loop.table.withEntry(userData) { $0.cancellation = .task }
        }
      }
      let (sender, receiver) = try SocketStream.pair(on: reactor)
      let receiving = Task(executorPreference: reactor) { try await receiver.receiveMessage() }
      await recorder.waitUntilPrepared(.recvmsg, count: 1)
      let pipe = try FileDescriptor.pipe()
      _ = try await sender.send([9], descriptors: [pipe.readEnd, pipe.writeEnd])
      try pipe.readEnd.close()
      try pipe.writeEnd.close()
      do {
        _ = try await receiving.value
        Issue.record("the abandoned receive returned")
      } catch let error as IOError {
        #expect(error.kind == .cancelled)
      }
      try await sender.close()
      try await receiver.close()
    }
    #expect(openDescriptorCount() == descriptorsBefore)
  }
}
