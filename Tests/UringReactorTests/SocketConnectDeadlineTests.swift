import Glibc
import TestSupport
import Testing
import Uring

@testable import UringReactor

/// `SocketStream.connect` under deadlines: its own (`timeout:`/`deadline:`)
/// and an enclosing `IODeadline` scope's, through the same linked
/// `IORING_OP_LINK_TIMEOUT` as every other operation.
@Suite(.requiresUring, .sharesProcess, .serialized)
struct SocketConnectDeadlineTests {
  /// Inside a scope whose deadline has passed, or with a `deadline:` already
  /// past, connect throws `.timedOut` naming the address and submits nothing:
  /// no socket, no connect, no linked timeout.
  @Test(.ownsProcess) func connectPastItsDeadlineSubmitsNothing() async throws {
    let descriptorsBefore = openDescriptorCount()
    try await withReactor { reactor in
      let recorder = OperationRecorder()
      try await recorder.install(on: reactor)
      let listener = try await SocketListener.listen(at: .loopbackIPv4(port: 0), on: reactor)
      let address = listener.localAddress
      let socketsBefore = recorder.preparedCount(.socket)
      do {
        _ = try await IODeadline.withDeadline(.now - .seconds(1)) {
          () async throws(IOError) -> SocketStream in
          try await SocketStream.connect(to: address, timeout: .seconds(3600), on: reactor)
        }
        Issue.record("connected inside a scope whose deadline had passed")
      } catch let error as IOError {
        #expect(error.kind == .timedOut)
        #expect(error.operation == .connect)
        #expect(error.address == address)
      }
      do {
        _ = try await SocketStream.connect(to: address, deadline: .now - .seconds(1), on: reactor)
        Issue.record("connected past its deadline")
      } catch let error as IOError {
        #expect(error.kind == .timedOut)
        #expect(error.operation == .connect)
        #expect(error.address == address)
      }
      #expect(recorder.preparedCount(.connect) == 0)
      #expect(recorder.preparedCount(.socket) == socketsBefore)
      #expect(recorder.preparedCount(.linkTimeout) == 0)
      try await listener.close()
    }
    #expect(openDescriptorCount() == descriptorsBefore)
  }

  /// A scope's deadline bounds a connect that has no timeout of its own, and
  /// wins over a later `timeout:`: a connect whose SYN is dropped (the
  /// listener's accept queue is full) is cancelled by the kernel at the
  /// scope's deadline. A far scope changes nothing but links a timeout.
  @Test(.ownsProcess) func connectRespectsAnEnclosingDeadlineScope() async throws {
    let descriptorsBefore = openDescriptorCount()
    try await withReactor { reactor in
      let recorder = OperationRecorder()
      try await recorder.install(on: reactor)
      // Backlog 0: one connection fills the accept queue; nobody accepts.
      let listener = try await SocketListener.listen(
        at: .loopbackIPv4(port: 0), backlog: 0, on: reactor)
      let address = listener.localAddress
      let queued = try await IODeadline.withDeadline(.now + .seconds(3600)) {
        () async throws(IOError) -> SocketStream in
        try await SocketStream.connect(to: address, on: reactor)
      }
      // The scope linked a timeout to the socket and to the connect.
      #expect(recorder.preparedCount(.connect) == 1)
      #expect(recorder.preparedCount(.linkTimeout) == 2)
      for timeout in [nil, Duration.seconds(3600)] {
        do {
          _ = try await IODeadline.withDeadline(.now + .milliseconds(50)) {
            () async throws(IOError) -> SocketStream in
            try await SocketStream.connect(to: address, timeout: timeout, on: reactor)
          }
          Issue.record("connected past a full accept queue")
        } catch let error as IOError {
          #expect(error.kind == .timedOut)
          #expect(error.address == address)
        }
      }
      #expect(recorder.preparedCount(.connect) == 3)
      try await queued.close()
      try await listener.close()
    }
    #expect(openDescriptorCount() == descriptorsBefore)
  }
}
