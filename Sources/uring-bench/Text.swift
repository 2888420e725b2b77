import Glibc

/// Writes to stderr (straight to fd 2: the C `stderr` global is not
/// concurrency-safe to reference from Swift 6).
enum Log {
  /// Progress lines; parts of a line may be written separately.
  static func progress(_ text: String) { write(text) }

  static func error(_ text: String) { write(text) }

  private static func write(_ text: String) {
    var text = text
    text.withUTF8 { bytes in
      var offset = 0
      while offset < bytes.count {
        let written = unsafe Glibc.write(2, bytes.baseAddress! + offset, bytes.count - offset)
        if written <= 0 { return }
        offset += written
      }
    }
  }
}

/// Number and column formatting, without Foundation.
enum Text {
  /// `x` with exactly `decimals` digits after the point.
  static func fixed(_ x: Double, _ decimals: Int) -> String {
    guard x.isFinite else { return "\(x)" }
    var scale = 1.0
    for _ in 0..<decimals { scale *= 10 }
    let scaled = (abs(x) * scale).rounded()
    guard scaled < 9e18 else { return "\(x)" }
    let units = Int(scaled)
    let whole = units / Int(scale)
    let fraction = units % Int(scale)
    var text = (x < 0 && units != 0 ? "-" : "") + String(whole)
    if decimals > 0 {
      let digits = String(fraction)
      text += "." + String(repeating: "0", count: decimals - digits.count) + digits
    }
    return text
  }

  /// Three significant digits: 3 digits below 1000, then k, M, G.
  static func rate(_ x: Double) -> String {
    let (value, suffix): (Double, String) =
      x >= 1e9 ? (x / 1e9, " G") : x >= 1e6 ? (x / 1e6, " M") : x >= 1e3 ? (x / 1e3, " k") : (x, "")
    let decimals = value >= 100 ? 0 : value >= 10 ? 1 : 2
    return fixed(value, decimals) + suffix
  }

  /// Nanoseconds per operation at rate `x`.
  static func nanoseconds(perOperationAt x: Double) -> String {
    let ns = 1e9 / x
    return ns >= 100 ? fixed(ns, 0) : fixed(ns, 1)
  }

  static func padRight(_ text: String, _ width: Int) -> String {
    text.count >= width ? text + " " : text + String(repeating: " ", count: width - text.count)
  }

  static func padLeft(_ text: String, _ width: Int) -> String {
    text.count >= width ? text : String(repeating: " ", count: width - text.count) + text
  }

  /// A JSON string literal.
  static func json(_ text: String) -> String {
    var out = "\""
    for scalar in text.unicodeScalars {
      switch scalar {
      case "\"": out += "\\\""
      case "\\": out += "\\\\"
      case "\n": out += "\\n"
      case "\t": out += "\\t"
      default:
        if scalar.value < 0x20 {
          let hex = String(scalar.value, radix: 16)
          out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
        } else {
          out.unicodeScalars.append(scalar)
        }
      }
    }
    return out + "\""
  }
}
