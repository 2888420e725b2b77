import Glibc
import Testing

@testable import UringReactor

@Suite(.requiresUring, .serialized)
struct SocketStreamTests {
  @Test(arguments: [SocketAddress.loopbackIPv4(port: 0), .loopbackIPv6(port: 0)])
  func echoOneMessage(_ loopback: SocketAddress) async throws {
    let descriptorsBefore = openDescriptorCount()
    try await withReactor { reactor in
      let listener = try await SocketListener.listen(on: loopback, on: reactor)
      let address = listener.localAddress
      #expect(address.port != 0)
      let server = serveEcho(listener, connections: 1, on: reactor)
      let client = try await SocketStream.connect(to: address, on: reactor)
      #expect(client.remoteAddress == address)
      let local = try await client.localAddress()
      #expect(local.family == loopback.family && local.port != address.port)
      try await client.writeAll(copying: Array("hello".utf8))
      #expect(try await client.receive(exactly: 5) == Array("hello".utf8))
      try await client.shutdown(.write)
      #expect(try await client.receive() == nil)
      #expect(try await server.value == 1)
      try await client.close()
      try await listener.close()
    }
    #expect(openDescriptorCount() == descriptorsBefore)
  }

  @Test func optionsAreSetAndReadBack() async throws {
    try await withReactor { reactor in
      let listener = try await SocketListener.listen(on: .loopbackIPv4(port: 0), on: reactor)
      let client = try await SocketStream.connect(
        to: listener.localAddress, options: SocketOptions(noDelay: true), on: reactor)
      var options = try await client.options()
      #expect(options.noDelay == true)
      #expect(options.keepAlive == false)
      #expect(options.lingerSeconds == nil)
      try await client.apply(
        SocketOptions(
          keepAlive: true, receiveBufferSize: 64 * 1024, sendBufferSize: 64 * 1024,
          lingerSeconds: 0))
      options = try await client.options()
      #expect(options.keepAlive == true)
      // The kernel doubles the size asked for (bookkeeping overhead).
      #expect(options.receiveBufferSize == 128 * 1024)
      #expect(options.sendBufferSize == 128 * 1024)
      #expect(options.lingerSeconds == 0)
      // TCP options on a Unix-domain socket are refused, with the call named.
      let (a, b) = try SocketStream.pair(on: reactor)
      do {
        try await a.apply(SocketOptions(noDelay: true))
        Issue.record("TCP_NODELAY on a Unix-domain socket")
      } catch let error as IOError {
        #expect(error.systemCall == "setsockopt")
      }
      #expect(try await a.options().noDelay == nil)
      for stream in [client, a, b] { try await stream.close() }
      try await listener.close()
    }
  }

  /// Reads and writes with caller-owned buffers (`IORING_OP_RECV`/`SEND`).
  @Test func ownedAndSharedBufferReadsAndWrites() async throws {
    try await withReactor { reactor in
      let (a, b) = try SocketStream.pair(on: reactor)
      let sent = await a.write(from: OwnedBuffer(Array("owned".utf8)))
      #expect(try sent.result.get() == 5)
      let read = await b.read(into: OwnedBuffer(capacity: 64))
      #expect(try read.result.get() == 5)
      #expect(read.buffer.bytes == Array("owned".utf8))
      try await b.writeAll(from: SharedBuffer(Array("shared".utf8)))
      let buffer = SharedBuffer(capacity: 64)
      #expect(try await a.read(into: buffer) == 6)
      #expect(try buffer.bytes() == Array("shared".utf8))
      // Once receive() is in use, single-shot reads would see bytes out of
      // order: they are refused.
      try await b.writeAll(copying: [1])
      _ = try await a.receive()
      await #expect(throws: IOError.self) { try await a.read(into: buffer) }
      try await a.close()
      try await b.close()
    }
  }
}
