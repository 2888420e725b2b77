public import NIOCore
import NIOHTTP1
public import NIOPosix
import ServerHarness

/// Listens on 127.0.0.1:`port` (0: any free port) with SwiftNIO's HTTP/1.1
/// pipeline (`configureHTTPServerPipeline`, `TCP_NODELAY`) and a handler from
/// `makeHandler` on each connection, on a new
/// `MultiThreadedEventLoopGroup(numberOfThreads: threads)`; returns the group
/// (keep it: the server runs on it) and the bound port. Exits with a message
/// naming `program` if it cannot listen.
public func listenHTTP<Handler: ChannelHandler>(
  _ program: String, threads: Int, port: Int,
  _ makeHandler: @escaping @Sendable () -> Handler
) async -> (MultiThreadedEventLoopGroup, Int) {
  let group = MultiThreadedEventLoopGroup(numberOfThreads: threads)
  do {
    let server = try await ServerBootstrap(group: group)
      .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
      .serverChannelOption(.backlog, value: 1024)
      .childChannelOption(.tcpOption(.tcp_nodelay), value: 1)
      .childChannelInitializer { channel in
        channel.eventLoop.makeCompletedFuture {
          try channel.pipeline.syncOperations.configureHTTPServerPipeline(withErrorHandling: true)
          try channel.pipeline.syncOperations.addHandler(makeHandler())
        }
      }
      .bind(host: "127.0.0.1", port: port).get()
    return (group, server.localAddress?.port ?? 0)
  } catch {
    exitWithUsageError(program, "cannot listen on 127.0.0.1:\(port): \(error)")
  }
}
