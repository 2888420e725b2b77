// The command line the example servers share:
//
//   NAME [ADDRESS] [--connections N]
//
// ADDRESS defaults to 127.0.0.1:0 (any free port); it may be "[::1]:7",
// "/tmp/echo.sock"... With --connections N a server exits after N
// connections have closed (tests use this to bound the run).
import Glibc
public import UringReactor

/// An example server's parsed command line, and its way of talking.
public struct ServerCommandLine: Sendable {
  /// The program's name, for messages.
  public let name: String
  /// Where to listen.
  public let address: SocketAddress
  /// How many connections to serve before exiting (`nil`: no limit).
  public let connectionLimit: Int?

  /// Parses `CommandLine.arguments`; prints usage and exits for `--help`,
  /// exits with a message on standard error for bad input.
  public init(name: String) {
    self.name = name
    var addressText = "127.0.0.1:0"
    var limit: Int?
    var arguments = CommandLine.arguments.dropFirst()
    while let argument = arguments.popFirst() {
      switch argument {
      case "--connections":
        guard let value = arguments.popFirst().flatMap({ Int($0) }), value > 0 else {
          Self.fail(name, "--connections needs a positive number")
        }
        limit = value
      case "-h", "--help":
        Self.say("usage: \(name) [ADDRESS] [--connections N]\n")
        exit(0)
      default:
        addressText = argument
      }
    }
    do {
      address = try SocketAddress(parsing: addressText)
    } catch {
      Self.fail(name, "\(error)")
    }
    connectionLimit = limit
  }

  /// Writes `message` to standard error and exits with status 1.
  public func fail(_ message: String) -> Never {
    Self.fail(name, message)
  }

  /// Writes `text` to standard output at once (no stdio buffering: the first
  /// line is what a test waits for).
  public static func say(_ text: String) {
    var text = text
    text.withUTF8 { _ = write(1, $0.baseAddress, $0.count) }
  }

  private static func fail(_ name: String, _ message: String) -> Never {
    var text = "\(name): \(message)\n"
    text.withUTF8 { _ = write(2, $0.baseAddress, $0.count) }
    exit(1)
  }
}
