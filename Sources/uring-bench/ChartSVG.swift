import Glibc

/// A minimal SVG writer: the few elements the chart needs, with escaping.
struct SVGDocument {
  let width: Double
  let height: Double
  private var body = ""

  init(width: Double, height: Double) {
    self.width = width
    self.height = height
  }

  mutating func rect(
    x: Double, y: Double, width: Double, height: Double, fill: String, opacity: Double = 1
  ) {
    body += "<rect x=\"\(Self.n(x))\" y=\"\(Self.n(y))\" width=\"\(Self.n(max(0, width)))\" "
    body += "height=\"\(Self.n(height))\" fill=\"\(fill)\""
    if opacity < 1 { body += " fill-opacity=\"\(Self.n(opacity))\"" }
    body += "/>\n"
  }

  mutating func line(
    x1: Double, y1: Double, x2: Double, y2: Double, stroke: String, width: Double = 1,
    dashed: Bool = false
  ) {
    body += "<line x1=\"\(Self.n(x1))\" y1=\"\(Self.n(y1))\" x2=\"\(Self.n(x2))\" "
    body += "y2=\"\(Self.n(y2))\" stroke=\"\(stroke)\" stroke-width=\"\(Self.n(width))\""
    if dashed { body += " stroke-dasharray=\"3,3\"" }
    body += "/>\n"
  }

  enum Anchor: String {
    case start, middle, end
  }

  mutating func text(
    _ content: String, x: Double, y: Double, size: Double = 11, anchor: Anchor = .start,
    weight: String = "normal", fill: String = "#212529"
  ) {
    body += "<text x=\"\(Self.n(x))\" y=\"\(Self.n(y))\" font-size=\"\(Self.n(size))\" "
    body += "text-anchor=\"\(anchor.rawValue)\" font-weight=\"\(weight)\" fill=\"\(fill)\">"
    body += Self.escape(content) + "</text>\n"
  }

  /// The whole document.
  func render() -> String {
    var out = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
    out += "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(Self.n(width))\" "
    out += "height=\"\(Self.n(height))\" viewBox=\"0 0 \(Self.n(width)) \(Self.n(height))\" "
    out += "font-family=\"DejaVu Sans, Helvetica, Arial, sans-serif\">\n"
    out += "<rect x=\"0\" y=\"0\" width=\"100%\" height=\"100%\" fill=\"#ffffff\"/>\n"
    return out + body + "</svg>\n"
  }

  /// Writes the document to `path`; returns an error message on failure.
  func write(to path: String) -> String? {
    guard let file = unsafe fopen(path, "w") else {
      return unsafe "cannot open \(path): \(String(cString: strerror(errno)))"
    }
    var text = render()
    let written = text.withUTF8 { bytes in unsafe fwrite(bytes.baseAddress, 1, bytes.count, file) }
    let closed = unsafe fclose(file)
    guard written == text.utf8.count, closed == 0 else { return "cannot write \(path)" }
    return nil
  }

  /// A coordinate with at most one decimal.
  private static func n(_ value: Double) -> String {
    let rounded = (value * 10).rounded() / 10
    return rounded == rounded.rounded() ? String(Int(rounded)) : Text.fixed(rounded, 1)
  }

  private static func escape(_ text: String) -> String {
    var out = ""
    for character in text {
      switch character {
      case "&": out += "&amp;"
      case "<": out += "&lt;"
      case ">": out += "&gt;"
      case "\"": out += "&quot;"
      default: out.append(character)
      }
    }
    return out
  }
}
