import Benchmark
import BenchmarkSupport
import CBaselines
import NIOCore
import NIOPosix

/// An echo server running somewhere in this process, and the blocking client
/// connected to it (the same client for every server).
struct EchoFixture: Sendable {
  let client: EchoClient
  let stop: @Sendable () async throws -> Void
}

/// 64-byte messages echoed on one open TCP connection over loopback, one in
/// flight, by:
/// - `nio-handler`: a SwiftNIO `ChannelInboundHandler` that writes back what it
///   reads (flush on read complete), on `MultiThreadedEventLoopGroup(numberOfThreads: 1)`;
/// - `nio-asyncchannel`: `NIOAsyncChannel` with a `for try await` loop writing
///   back, on the same kind of group (the loop runs on the default executor);
/// - `c`: the C io_uring server of `cb_echo_server_*` (multishot recv into a
///   provided-buffer ring, SINGLE_ISSUER | DEFER_TASKRUN).
func registerEchoBenchmarks() {
  echoBenchmark("echo-64b-nio-handler") {
    let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
    let server = try await ServerBootstrap(group: group)
      .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
      .childChannelOption(.tcpOption(.tcp_nodelay), value: 1)
      .childChannelInitializer { channel in
        channel.eventLoop.makeCompletedFuture {
          try channel.pipeline.syncOperations.addHandler(EchoHandler())
        }
      }
      .bind(host: "127.0.0.1", port: 0).get()
    let client = try EchoClient(port: UInt16(server.localAddress!.port!))
    return EchoFixture(client: client) {
      try await server.close()
      try await group.shutdownGracefully()
    }
  }

  echoBenchmark("echo-64b-nio-asyncchannel") {
    let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
    let server = try await ServerBootstrap(group: group)
      .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
      .childChannelOption(.tcpOption(.tcp_nodelay), value: 1)
      .bind(host: "127.0.0.1", port: 0) { channel in
        channel.eventLoop.makeCompletedFuture {
          try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel)
        }
      }
    let port = UInt16(server.channel.localAddress!.port!)
    let serving = Task {
      try await server.executeThenClose { connections in
        try await withThrowingDiscardingTaskGroup { tasks in
          for try await connection in connections {
            tasks.addTask {
              try? await connection.executeThenClose { inbound, outbound in
                for try await message in inbound { try await outbound.write(message) }
              }
            }
          }
        }
      }
    }
    let client = try EchoClient(port: port)
    return EchoFixture(client: client) {
      serving.cancel()
      try? await server.channel.close()
      _ = await serving.result
      try await group.shutdownGracefully()
    }
  }

  echoBenchmark("echo-64b-c") {
    var error: Int32 = 0
    guard let server = cb_echo_server_start(0, 256, 4096, &error) else {
      throw BenchmarkFailure("cb_echo_server_start: errno \(error)")
    }
    let handle = ServerHandle(server)
    let client = try EchoClient(port: cb_echo_server_port(server))
    return EchoFixture(client: client) { handle.stop() }
  }
}

/// Registers an echo benchmark over the server `start` makes.
private func echoBenchmark(
  _ name: String, start: @escaping @Sendable () async throws -> EchoFixture
) {
  benchmark(
    name, setup: start,
    teardown: {
      $0.client.close()
      try await $0.stop()
    },
    run: { benchmark, fixture in
      let count = benchmark.scaledIterations.count
      try await Measure.region(benchmark) {
        try await fixture.client.roundTrips(count)
      }
    })
}

/// Writes back what it reads.
final class EchoHandler: ChannelInboundHandler, Sendable {
  typealias InboundIn = ByteBuffer
  typealias OutboundOut = ByteBuffer

  func channelRead(context: ChannelHandlerContext, data: NIOAny) {
    context.write(data, promise: nil)
  }

  func channelReadComplete(context: ChannelHandlerContext) {
    context.flush()
  }
}

/// The C server's pointer, stopped once.
final class ServerHandle: @unchecked Sendable {
  // @unchecked: `stop()` is called once, by the benchmark's teardown.
  private let server: OpaquePointer

  init(_ server: OpaquePointer) { self.server = server }

  func stop() { cb_echo_server_stop(server) }
}
