// nio-http-server: a SwiftNIO HTTP/1.1 server that answers every request with
// the same small response, keeping connections alive, as a separate process,
// so that uring-bench (which depends on nothing but the toolchain and
// liburing) can drive it with `wrk` next to the reactor's Examples/http-server
// and report it as the system `nio` of its http workloads.
//
//   nio-http-server [--port N]
//
// Listens on 127.0.0.1 (port 0: any free port), prints `port N` on stdout,
// then reads commands from stdin, one a line:
//   cpu   prints `cpu NANOSECONDS`: this process's CPU time so far (every
//         thread), for server CPU per request;
// and exits when stdin closes (its parent exited or is done with it).
//
// The server: `configureHTTPServerPipeline` (NIOHTTP1's request decoder,
// response encoder and pipelining handler) and a handler that writes the
// response on each request's end and flushes on read-complete, on
// `MultiThreadedEventLoopGroup(numberOfThreads: 1)`. The response is the one
// Examples/http-server sends: `200 OK`, `Content-Type: text/plain`,
// `Content-Length: 14`, `Hello, world!\n`; `Connection: close` (or HTTP/1.0
// without keep-alive) closes the connection after it.
import Glibc
import NIOCore
import NIOHTTP1
import NIOHTTPServerSupport
import ServerHarness

func fail(_ message: String) -> Never {
  exitWithUsageError("nio-http-server", message)
}

let port = parsePort("nio-http-server")

/// Answers every request with the fixed response.
final class FixedResponseHandler: ChannelInboundHandler {
  typealias InboundIn = HTTPServerRequestPart
  typealias OutboundOut = HTTPServerResponsePart

  static let body = ByteBuffer(string: "Hello, world!\n")
  static let headers: HTTPHeaders = [
    "Content-Type": "text/plain", "Content-Length": "\(body.readableBytes)",
  ]

  /// Whether the connection stays open after the current request (set by
  /// its head). Only the channel's event loop touches a handler.
  private var keepAlive = true

  func channelRead(context: ChannelHandlerContext, data: NIOAny) {
    switch unwrapInboundIn(data) {
    case .head(let request):
      keepAlive = request.isKeepAlive
    case .body:
      break
    case .end:
      var headers = FixedResponseHandler.headers
      if !keepAlive { headers.add(name: "Connection", value: "close") }
      let head = HTTPResponseHead(version: .http1_1, status: .ok, headers: headers)
      context.write(wrapOutboundOut(.head(head)), promise: nil)
      context.write(wrapOutboundOut(.body(.byteBuffer(FixedResponseHandler.body))), promise: nil)
      if keepAlive {
        context.write(wrapOutboundOut(.end(nil)), promise: nil)
      } else {
        let channel = context.channel
        context.writeAndFlush(wrapOutboundOut(.end(nil))).whenComplete { _ in
          channel.close(promise: nil)
        }
      }
    }
  }

  func channelReadComplete(context: ChannelHandlerContext) {
    context.flush()
  }
}

let (group, boundPort) = await listenHTTP("nio-http-server", threads: 1, port: port) {
  FixedResponseHandler()
}

// Blocks the main thread: the server runs on the event loop.
announceAndServeCommands(port: boundPort)
