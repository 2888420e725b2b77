import Glibc
import TestSupport
import Testing

@testable import UringReactor

@Suite(.requiresUring, .sharesProcess, .serialized)
struct SocketStreamTests {
  @Test(.ownsProcess, arguments: [SocketAddress.loopbackIPv4(port: 0), .loopbackIPv6(port: 0)])
  func echoOneMessage(_ loopback: SocketAddress) async throws {
    let descriptorsBefore = openDescriptorCount()
    try await withReactor { reactor in
      let listener = try await SocketListener.listen(at: loopback, on: reactor)
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
      let listener = try await SocketListener.listen(at: .loopbackIPv4(port: 0), on: reactor)
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

  /// TCP_NODELAY is on by default on both ends of a TCP connection (a
  /// response written in two parts must not wait for a delayed ACK), and off
  /// where the options say `noDelay: false`.
  @Test(arguments: [SocketAddress.loopbackIPv4(port: 0), .loopbackIPv6(port: 0)])
  func noDelayIsOnByDefault(_ loopback: SocketAddress) async throws {
    try await withReactor { reactor in
      let listener = try await SocketListener.listen(at: loopback, on: reactor)
      let client = try await SocketStream.connect(to: listener.localAddress, on: reactor)
      var connections = listener.connections.makeAsyncIterator()
      let accepted = try #require(try await connections.next())
      #expect(try await client.options().noDelay == true)
      #expect(try await accepted.options().noDelay == true)
      // A request and a response, each written in two parts.
      for round in 0..<3 {
        try await client.writeAll(copying: Array("GET /\(round) ".utf8))
        try await client.writeAll(copying: Array("HTTP/1.1\n".utf8))
        let request = "GET /\(round) HTTP/1.1\n"
        #expect(try await accepted.receive(exactly: request.utf8.count) == Array(request.utf8))
        try await accepted.writeAll(copying: Array("200 ".utf8))
        try await accepted.writeAll(copying: Array("OK\n".utf8))
        #expect(try await client.receive(exactly: 7) == Array("200 OK\n".utf8))
      }
      for stream in [client, accepted] { try await stream.close() }
      try await listener.close()

      // The options can keep Nagle's algorithm, on either end.
      let nagle = SocketOptions(noDelay: false, reuseAddress: true)
      let quiet = try await SocketListener.listen(at: loopback, options: nagle, on: reactor)
      let slowClient = try await SocketStream.connect(
        to: quiet.localAddress, options: SocketOptions(noDelay: false), on: reactor)
      var quietConnections = quiet.connections.makeAsyncIterator()
      let slowAccepted = try #require(try await quietConnections.next())
      #expect(try await slowClient.options().noDelay == false)
      #expect(try await slowAccepted.options().noDelay == false)
      for stream in [slowClient, slowAccepted] { try await stream.close() }
      try await quiet.close()
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
