import Glibc
import TestSupport
import Testing

@testable import UringReactor

@Suite(.requiresUring, .sharesProcess, .serialized)
struct UDPTests {
  @Test(.ownsProcess, arguments: [SocketAddress.loopbackIPv4(port: 0), .loopbackIPv6(port: 0)])
  func datagramRoundTrip(_ loopback: SocketAddress) async throws {
    let descriptorsBefore = openDescriptorCount()
    try await withReactor { reactor in
      let server = try await DatagramSocket.bind(to: loopback, on: reactor)
      let client = try await DatagramSocket.bind(to: loopback, on: reactor)
      #expect(server.localAddress.port != 0)
      #expect(server.localAddress.family == loopback.family)
      // Unconnected: each send names its destination, each datagram its sender.
      let sent = try await client.send(Array("ping".utf8), to: server.localAddress)
      #expect(sent == 4)
      let request = try await server.receive()
      #expect(request.bytes == Array("ping".utf8))
      #expect(request.sender == client.localAddress)
      let sender = try #require(request.sender)
      _ = try await server.send(Array("pong".utf8), to: sender)
      // Into an owned buffer, handed back with the sender.
      let reply = await client.receive(into: OwnedBuffer(capacity: 64))
      #expect(try reply.result.get() == 4)
      #expect(reply.buffer.bytes == Array("pong".utf8))
      #expect(reply.sender == server.localAddress)
      // Truncation is reported.
      _ = try await client.send(Array(repeating: 7, count: 100), to: server.localAddress)
      let truncated = try await server.receive(maximumLength: 10)
      #expect(truncated.bytes.count == 10)
      #expect(truncated.isTruncated)
      // Connected: sends omit the address.
      try await client.connect(to: server.localAddress)
      let outcome = await client.send(from: OwnedBuffer(Array("again".utf8)))
      #expect(try outcome.result.get() == 5)
      #expect(try await server.receive().bytes == Array("again".utf8))
      try await client.close()
      try await server.close()
    }
    #expect(openDescriptorCount() == descriptorsBefore)
  }

  /// A connected datagram socket whose peer does not listen reports the
  /// ICMP "port unreachable" as `ECONNREFUSED` on its next operation.
  @Test func connectedSendToNobodyIsRefused() async throws {
    try await withReactor { reactor in
      let gone = try await DatagramSocket.bind(to: .loopbackIPv4(port: 0), on: reactor)
      let address = gone.localAddress
      try await gone.close()
      let client = try await DatagramSocket.bind(to: .loopbackIPv4(port: 0), on: reactor)
      try await client.connect(to: address)
      _ = try await client.send(Array("anyone?".utf8))
      do {
        _ = try await client.receive()
        Issue.record("received from nobody")
      } catch let error as IOError {
        #expect(error.isConnectionRefused, "\(error)")
      }
      try await client.close()
    }
  }
}
