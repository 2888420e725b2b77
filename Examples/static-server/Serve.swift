import Glibc
import UringReactor

/// The most bytes a request head may take.
let maximumHeadBytes = 16 * 1024

/// Answers requests on `connection` until the peer closes, asks to close, or
/// fails.
func serve(_ connection: SocketStream, roots: RootDirectories) async {
  // Two writes per response (head, then body): without TCP_NODELAY the body
  // would wait for the delayed ACK of the head. Not a TCP socket: ignored.
  try? await connection.apply(SocketOptions(noDelay: true))
  var pending: [UInt8] = []
  var skip = 0
  do {
    let root = try await roots.directory(on: connection.reactor)
    // --copy: bodies up to 64 KiB are read into this buffer, reused.
    let scratch = roots.copiesBodies ? SharedBuffer(capacity: 1 << 16) : nil
    receiving: while let bytes = try await connection.receive() {
      // SAFETY: the pointer is used only inside the closure, to copy the bytes.
      unsafe bytes.withUnsafeBytes { unsafe pending.append(contentsOf: $0) }
      var start = 0
      while true {
        let skipped = min(skip, pending.count - start)
        skip -= skipped
        start += skipped
        guard skip == 0, let end = findHeadEnd(pending, from: start) else { break }
        guard let request = Request(head: pending[start..<end.head]) else {
          try await respond(connection, status: "400 Bad Request", keepAlive: false)
          break receiving
        }
        start = end.next
        skip = request.bodyLength
        try await answer(request, on: connection, root: root, scratch: scratch)
        if !request.keepAlive { break receiving }
      }
      pending.removeFirst(start)
      if pending.count > maximumHeadBytes {
        try await respond(
          connection, status: "431 Request Header Fields Too Large", keepAlive: false)
        break
      }
    }
    try await connection.shutdown(.write)
  } catch {
    // A peer that vanished (reset, broken pipe): only this connection ends.
  }
}

/// Sends the file `request` asks for (its head, then, for GET, its bytes
/// spliced from the file), or an error status.
func answer(_ request: Request, on connection: SocketStream, root: File, scratch: SharedBuffer?)
  async throws(IOError)
{
  guard request.method != .other else {
    try await respond(
      connection, status: "405 Method Not Allowed", keepAlive: request.keepAlive,
      extra: "Allow: GET, HEAD\r\n")
    return
  }
  var relative = String(request.path.drop { $0 == "/" })
  if relative.isEmpty || relative.hasSuffix("/") { relative += "index.html" }
  let file: File
  let size: UInt64
  do throws(IOError) {
    // RESOLVE_BENEATH: the kernel refuses (EXDEV) a path that leaves the
    // root: `..` above it, an absolute path, a symbolic link pointing out.
    file = try await File.open(
      relative, .readOnly, resolving: [.beneath, .noMagicLinks], relativeTo: root,
      on: connection.reactor)
    let status = try await file.status()
    guard status.type == .regular else {
      try? await file.close()
      throw IOError(.system(.isDirectory), operation: .openat2)
    }
    size = status.size
  } catch {
    try await respond(connection, status: "404 Not Found", keepAlive: request.keepAlive)
    return
  }
  let connectionHeader = request.keepAlive ? "" : "Connection: close\r\n"
  let head =
    "HTTP/1.1 200 OK\r\nContent-Type: \(contentType(relative))\r\nContent-Length: \(size)\r\n"
    + connectionHeader + "\r\n"
  do throws(IOError) {
    try await connection.writeAll(copying: head.utf8)
    if request.method == .get, size > 0, let scratch {
      // The connection's buffer when the file fits, else one of its size.
      let body = Int(size) <= scratch.capacity ? scratch : SharedBuffer(capacity: Int(size))
      try await file.readAll(into: body, at: 0)
      try await connection.writeAll(from: body)
    } else if request.method == .get, size > 0 {
      let sent = try await connection.send(file: file, range: 0..<size)
      // The file shrank under us: the promised length cannot be kept.
      if sent < Int(size) {
        throw IOError(.system(.brokenPipe), operation: .splice, path: file.path)
      }
    }
  } catch {
    try? await file.close()
    throw error
  }
  try? await file.close()
}

/// A response with no body.
func respond(
  _ connection: SocketStream, status: String, keepAlive: Bool, extra: String = ""
) async throws(IOError) {
  let close = keepAlive ? "" : "Connection: close\r\n"
  try await connection.writeAll(
    copying: "HTTP/1.1 \(status)\r\nContent-Length: 0\r\n\(extra)\(close)\r\n".utf8)
}

/// A content type from the file name's extension.
func contentType(_ path: String) -> String {
  let suffix = path.split(separator: ".").last.map { $0.lowercased() } ?? ""
  switch suffix {
  case "html", "htm": return "text/html; charset=utf-8"
  case "txt": return "text/plain; charset=utf-8"
  case "css": return "text/css"
  case "js": return "text/javascript"
  case "json": return "application/json"
  case "png": return "image/png"
  case "jpg", "jpeg": return "image/jpeg"
  default: return "application/octet-stream"
  }
}
