// nio-echo-server: SwiftNIO's echo server as a separate process, so that
// uring-bench (which depends on nothing but the toolchain and liburing) can
// drive it with the same C io_uring client as its own servers and report it as
// the systems `nio` and `nio-async-channel`.
//
//   nio-echo-server --mode handler|async-channel [--port N]
//
// Listens on 127.0.0.1 (port 0: any free port), prints `port N` on stdout,
// then reads commands from stdin, one a line:
//   cpu   prints `cpu NANOSECONDS`: this process's CPU time so far (every
//         thread: the event loop, Swift's cooperative pool), for server CPU per
//         message;
// and exits when stdin closes (its parent exited or is done with it).
//
// - handler: a `ChannelInboundHandler` writes back what it reads and flushes
//   on read-complete, on `MultiThreadedEventLoopGroup(numberOfThreads: 1)`.
// - async-channel: `NIOAsyncChannel` on the same kind of group; one task per
//   connection (`withThrowingDiscardingTaskGroup`, Swift's default executor)
//   runs `for try await message in inbound { try await outbound.write(message) }`:
//   the async API a Swift user would otherwise write.
import Glibc
import NIOCore
import NIOPosix
import ServerHarness

enum Mode: String {
  case handler
  case asyncChannel = "async-channel"
}

func fail(_ message: String) -> Never {
  exitWithUsageError("nio-echo-server", message)
}

var mode: Mode?
let port = parsePort("nio-echo-server") { argument, arguments in
  guard argument == "--mode" else { return false }
  guard let value = arguments.next(), let parsed = Mode(rawValue: value) else {
    fail("--mode wants handler or async-channel")
  }
  mode = parsed
  return true
}
guard let mode else { fail("--mode handler|async-channel is required") }

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

let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
let boundPort: Int
do {
  switch mode {
  case .handler:
    let server = try await ServerBootstrap(group: group)
      .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
      .serverChannelOption(.backlog, value: 1024)
      .childChannelOption(.tcpOption(.tcp_nodelay), value: 1)
      .childChannelInitializer { channel in
        channel.eventLoop.makeCompletedFuture {
          try channel.pipeline.syncOperations.addHandler(EchoHandler())
        }
      }
      .bind(host: "127.0.0.1", port: port).get()
    boundPort = server.localAddress?.port ?? 0
  case .asyncChannel:
    let server = try await ServerBootstrap(group: group)
      .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
      .serverChannelOption(.backlog, value: 1024)
      .childChannelOption(.tcpOption(.tcp_nodelay), value: 1)
      .bind(host: "127.0.0.1", port: port) { channel in
        channel.eventLoop.makeCompletedFuture {
          try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel)
        }
      }
    boundPort = server.channel.localAddress?.port ?? 0
    Task.detached {
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
  }
} catch {
  fail("cannot listen on 127.0.0.1:\(port): \(error)")
}

// Blocks the main thread: nothing runs on the main actor; the servers run on
// the event loop and the pool.
announceAndServeCommands(port: boundPort)
