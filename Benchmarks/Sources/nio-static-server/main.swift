// nio-static-server: a SwiftNIO HTTP/1.1 static-file server, as a separate
// process that uring-bench drives with `wrk` next to the reactor's
// Examples/static-server (system `nio` of its `http-static-64k` workload).
//
//   nio-static-server --root DIRECTORY [--port N] [--threads N]
//
// Listens on 127.0.0.1 (port 0: any free port), prints `port N` on stdout,
// then answers `cpu` on stdin and exits when stdin closes (see ServerHarness).
//
// The server: `configureHTTPServerPipeline` and a handler that, on each
// request's end, opens the file beneath DIRECTORY (`/` is `index.html`; a
// path with a `..` component is refused) with `NIOFileHandle`, writes the
// head (`Content-Length` from `FileRegion`'s fstat) and the body as a
// `FileRegion` (NIO sends it with `sendfile(2)`: no copy through user
// memory), closes the handle once written, and flushes on read-complete; on
// `MultiThreadedEventLoopGroup(numberOfThreads: N)` (default 2). GET only;
// anything missing is a 404.
import Glibc
import NIOCore
import NIOHTTP1
import NIOHTTPServerSupport
import ServerHarness

var root: String?
var threads = 2
let port = parsePort("nio-static-server") { argument, arguments in
  switch argument {
  case "--root":
    root = arguments.next()
  case "--threads":
    threads = arguments.next().flatMap { Int($0) } ?? 0
    if threads < 1 { exitWithUsageError("nio-static-server", "--threads wants a positive number") }
  default:
    return false
  }
  return true
}
guard let root else { exitWithUsageError("nio-static-server", "--root DIRECTORY is required") }
let servedRoot = root

/// Serves files beneath `servedRoot` with `FileRegion`s.
final class StaticFileHandler: ChannelInboundHandler {
  typealias InboundIn = HTTPServerRequestPart
  typealias OutboundOut = HTTPServerResponsePart

  /// The current request's head. Only the channel's event loop touches a handler.
  private var request: HTTPRequestHead?

  func channelRead(context: ChannelHandlerContext, data: NIOAny) {
    switch unwrapInboundIn(data) {
    case .head(let head):
      request = head
    case .body:
      break
    case .end:
      guard let request else { return }
      respond(to: request, context: context)
    }
  }

  private func respond(to request: HTTPRequestHead, context: ChannelHandlerContext) {
    let keepAlive = request.isKeepAlive
    var headers = HTTPHeaders()
    if !keepAlive { headers.add(name: "Connection", value: "close") }
    var path = String(request.uri.prefix { $0 != "?" }.drop { $0 == "/" })
    if path.isEmpty { path = "index.html" }
    let handle: NIOFileHandle
    let region: FileRegion
    do {
      guard !path.split(separator: "/").contains("..") else { throw NotFound() }
      handle = try NIOFileHandle(_deprecatedPath: servedRoot + "/" + path)
      do {
        region = try FileRegion(fileHandle: handle)
      } catch {
        try? handle.close()
        throw error
      }
    } catch {
      headers.add(name: "Content-Length", value: "0")
      context.write(
        wrapOutboundOut(
          .head(HTTPResponseHead(version: .http1_1, status: .notFound, headers: headers))),
        promise: nil)
      finish(context: context, keepAlive: keepAlive, then: nil)
      return
    }
    headers.add(name: "Content-Type", value: "application/octet-stream")
    headers.add(name: "Content-Length", value: "\(region.readableBytes)")
    context.write(
      wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: .ok, headers: headers))),
      promise: nil)
    context.write(wrapOutboundOut(.body(.fileRegion(region))), promise: nil)
    finish(context: context, keepAlive: keepAlive, then: handle)
  }

  /// Writes the end of the response; closes `handle` once it is written, and
  /// the connection too unless it is kept alive.
  private func finish(context: ChannelHandlerContext, keepAlive: Bool, then handle: NIOFileHandle?)
  {
    let channel = context.channel
    let promise = context.eventLoop.makePromise(of: Void.self)
    promise.futureResult.whenComplete { _ in
      try? handle?.close()
      if !keepAlive { channel.close(promise: nil) }
    }
    if keepAlive {
      context.write(wrapOutboundOut(.end(nil)), promise: promise)
    } else {
      context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: promise)
    }
  }

  func channelReadComplete(context: ChannelHandlerContext) {
    context.flush()
  }
}

struct NotFound: Error {}

let (group, boundPort) = await listenHTTP("nio-static-server", threads: threads, port: port) {
  StaticFileHandler()
}

// Blocks the main thread: the server runs on the event loops.
announceAndServeCommands(port: boundPort)
