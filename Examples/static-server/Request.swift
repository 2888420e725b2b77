/// One parsed request: its method, the path it asks for (decoded, without
/// query) and whether the connection stays open after the response.
struct Request {
  enum Method { case get, head, other }

  var method: Method
  var path: String
  var keepAlive: Bool
  /// Bytes of body announced by `Content-Length` (skipped).
  var bodyLength: Int

  /// Parses a request head (request line and headers, without the blank
  /// line); `nil` if it is malformed.
  init?(head: ArraySlice<UInt8>) {
    let text = String(decoding: head, as: UTF8.self)
    let lines = text.split(separator: "\r\n", omittingEmptySubsequences: false)
    let parts = (lines.first ?? "").split(separator: " ")
    guard parts.count == 3, parts[2].hasPrefix("HTTP/1."), parts[1].hasPrefix("/") else {
      return nil
    }
    switch parts[0] {
    case "GET": method = .get
    case "HEAD": method = .head
    default: method = .other
    }
    let target = parts[1].split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false)[0]
    guard let decoded = Self.percentDecoded(target) else { return nil }
    path = decoded
    keepAlive = parts[2] == "HTTP/1.1"
    bodyLength = 0
    for line in lines.dropFirst() {
      guard let colon = line.firstIndex(of: ":") else { continue }
      let name = line[..<colon].lowercased()
      let value = line[line.index(after: colon)...].lowercased()
      if name == "connection" {
        if value.contains("close") { keepAlive = false }
        if value.contains("keep-alive") { keepAlive = true }
      } else if name == "content-length" {
        guard let length = Int(value.filter { $0 != " " }), length >= 0 else { return nil }
        bodyLength = length
      }
    }
  }

  /// `%XX` escapes decoded; `nil` for a bad escape or a NUL byte.
  static func percentDecoded(_ text: Substring) -> String? {
    var bytes: [UInt8] = []
    var iterator = text.utf8.makeIterator()
    while let byte = iterator.next() {
      guard byte == UInt8(ascii: "%") else {
        bytes.append(byte)
        continue
      }
      guard let high = iterator.next().flatMap(hexValue),
        let low = iterator.next().flatMap(hexValue)
      else { return nil }
      bytes.append(high << 4 | low)
    }
    guard !bytes.contains(0) else { return nil }
    return String(decoding: bytes, as: UTF8.self)
  }

  private static func hexValue(_ byte: UInt8) -> UInt8? {
    switch byte {
    case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
    case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
    case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
    default: nil
    }
  }
}

/// Where the request head starting at `start` ends: the index of its blank
/// line's first byte and the index just past it; `nil` if incomplete.
func findHeadEnd(_ bytes: [UInt8], from start: Int) -> (head: Int, next: Int)? {
  let terminator: [UInt8] = [13, 10, 13, 10]
  var index = start
  while index + 4 <= bytes.count {
    if bytes[index..<index + 4].elementsEqual(terminator) { return (index, index + 4) }
    index += 1
  }
  return nil
}
