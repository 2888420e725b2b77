// http-server: an HTTP/1.1 server on one UringReactor that answers every
// request with the same small response, keeping connections alive.
//
//   http-server [ADDRESS] [--connections N] [--reactors N] [--two-writes]
//
// ADDRESS defaults to 127.0.0.1:0 (any free port). The server prints
// "listening on ADDRESS" (with the port the kernel picked) on its first line.
// With --connections N it exits after N connections have closed (tests use
// this to bound the run). By default it runs on one reactor; --reactors N
// serves on a ReactorGroup of N reactors through a GroupListener (a
// listening socket per reactor, SO_REUSEPORT), each connection on the
// reactor that accepted it.
//
// Requests are read with the connection's multishot receive (bytes lent from
// a provided-buffer ring); pipelined requests are answered in order; a
// request body announced by Content-Length is skipped. `Connection: close`
// (or HTTP/1.0 without keep-alive) ends the connection after the response.
// The response lives in one SharedBuffer that every send reads in place.
// With --two-writes each response goes out in two `writeAll` calls, the head
// then the body (as a server that writes its headers before its body does);
// TCP_NODELAY, on by default, keeps the second from waiting for an ACK.
import Glibc
import ServerCommandLine
import UringReactor

/// `--two-writes`, taken out before the shared command line is parsed.
let twoWrites = CommandLine.arguments.contains("--two-writes")
let command = ServerCommandLine(
  name: "http-server", acceptsReactors: true,
  arguments: CommandLine.arguments.filter { $0 != "--two-writes" })

/// A fixed response: whole (one send) and as its head and body (two sends).
struct Response: Sendable {
  let whole: SharedBuffer
  let head: SharedBuffer
  let body: SharedBuffer
  /// Whether it goes out in two writes.
  let split: Bool

  /// The fixed body; `closing` adds `Connection: close`. (Built in a
  /// function: temporaries of top-level async code would live until `exit`,
  /// where LeakSanitizer reports them.)
  init(closing: Bool) {
    let body = "Hello, world!\n"
    let connection = closing ? "Connection: close\r\n" : ""
    let head =
      "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: \(body.utf8.count)\r\n"
      + connection + "\r\n"
    self.init(head: head, body: body)
  }

  init(head: String, body: String) {
    whole = SharedBuffer(Array((head + body).utf8))
    self.head = SharedBuffer(Array(head.utf8))
    self.body = SharedBuffer(Array(body.utf8))
    split = twoWrites && !body.isEmpty
  }

  /// Sends it in one `writeAll`, or with `--two-writes` the head then the
  /// body in two (a body-less response is one write either way).
  func write(to connection: SocketStream) async throws(IOError) {
    if split {
      try await connection.writeAll(from: head)
      try await connection.writeAll(from: body)
    } else {
      try await connection.writeAll(from: whole)
    }
  }
}

let keepAliveResponse = Response(closing: false)
let closingResponse = Response(closing: true)
let tooLargeResponse = Response(
  head:
    "HTTP/1.1 431 Request Header Fields Too Large\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
  body: "")
let maximumHeaderBytes = 16 * 1024

/// One parsed request head: whether the connection stays open after it, and
/// how many body bytes follow it.
struct RequestHead {
  var keepAlive: Bool
  var bodyLength: Int

  init(_ head: ArraySlice<UInt8>) {
    let text = String(decoding: head, as: UTF8.self).lowercased()
    let lines = text.split(separator: "\r\n")
    let requestLine = lines.first ?? ""
    var keepAlive = requestLine.hasSuffix("http/1.1")
    var bodyLength = 0
    for line in lines.dropFirst() {
      guard let colon = line.firstIndex(of: ":") else { continue }
      let name = line[..<colon].trimmingSpaces
      let value = line[line.index(after: colon)...].trimmingSpaces
      if name == "connection" {
        if value.contains("close") { keepAlive = false }
        if value.contains("keep-alive") { keepAlive = true }
      } else if name == "content-length" {
        bodyLength = Int(value) ?? 0
      }
    }
    self.keepAlive = keepAlive
    self.bodyLength = bodyLength
  }
}

extension Substring {
  var trimmingSpaces: Substring {
    var result = self
    while result.first == " " { result.removeFirst() }
    while result.last == " " { result.removeLast() }
    return result
  }
}

/// Where the head of the request at the start of `bytes` ends (just past
/// its blank line), if it is complete.
func headEnd(_ bytes: [UInt8], from start: Int) -> Int? {
  guard bytes.count - start >= 4 else { return nil }
  var index = start
  while index + 3 < bytes.count {
    if bytes[index] == 13, bytes[index + 1] == 10, bytes[index + 2] == 13, bytes[index + 3] == 10 {
      return index + 4
    }
    index += 1
  }
  return nil
}

/// Answers requests until the peer closes, asks to close, or fails.
@Sendable func serve(_ connection: SocketStream) async {
  var pending: [UInt8] = []
  var skip = 0  // body bytes still to skip
  do {
    receiving: while let bytes = try await connection.receive() {
      unsafe bytes.withUnsafeBytes { unsafe pending.append(contentsOf: $0) }
      var start = 0
      while true {
        if skip > 0 {
          let skipped = min(skip, pending.count - start)
          skip -= skipped
          start += skipped
          if skip > 0 { break }
        }
        guard let end = headEnd(pending, from: start) else { break }
        let head = RequestHead(pending[start..<end])
        start = end
        skip = head.bodyLength
        if head.keepAlive {
          try await keepAliveResponse.write(to: connection)
        } else {
          try await closingResponse.write(to: connection)
          break receiving
        }
      }
      pending.removeFirst(start)
      if pending.count > maximumHeaderBytes {
        try await tooLargeResponse.write(to: connection)
        break
      }
    }
    try await connection.shutdown(.write)
  } catch {
    // A peer that vanished (reset, broken pipe): only this connection ends.
  }
}

exit(await command.serve(serve))
