// The command line the example servers share:
//
//   NAME [ADDRESS] [--connections N] [--reactors N]
//
// ADDRESS defaults to 127.0.0.1:0 (any free port); it may be "[::1]:7",
// "/tmp/echo.sock"... With --connections N a server exits after N
// connections have closed (tests use this to bound the run). --reactors N
// (only for servers that ask for it) serves on a group of N reactors.
import Glibc
import Synchronization
public import UringReactor

/// An example server's parsed command line, and its way of talking.
public struct ServerCommandLine: Sendable {
  /// The program's name, for messages.
  public let name: String
  /// Where to listen.
  public let address: SocketAddress
  /// How many connections to serve before exiting (`nil`: no limit).
  public let connectionLimit: Int?
  /// How many reactors to serve on (`--reactors N`; `nil`: one reactor, no
  /// group). Parsed only when the server accepts it.
  public let reactorCount: Int?

  /// Parses `arguments` (the program's name first); prints usage and exits
  /// for `--help`, exits with a message on standard error for bad input.
  /// `--reactors N` is an option only if `acceptsReactors`.
  public init(
    name: String, acceptsReactors: Bool = false, arguments: [String] = CommandLine.arguments
  ) {
    self.name = name
    var addressText = "127.0.0.1:0"
    var limit: Int?
    var reactors: Int?
    var arguments = arguments.dropFirst()
    while let argument = arguments.popFirst() {
      switch argument {
      case "--connections":
        limit = Self.positive(name, argument, arguments.popFirst())
      case "--reactors" where acceptsReactors:
        reactors = Self.positive(name, argument, arguments.popFirst())
      case "-h", "--help":
        let extra = acceptsReactors ? " [--reactors N]" : ""
        Self.say("usage: \(name) [ADDRESS] [--connections N]\(extra)\n")
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
    reactorCount = reactors
  }

  /// The positive number `text` given for `option`, or exits with a message.
  private static func positive(_ name: String, _ option: String, _ text: String?) -> Int {
    guard let value = text.flatMap({ Int($0) }), value > 0 else {
      fail(name, "\(option) needs a positive number")
    }
    return value
  }

  /// Writes `message` to standard error and exits with status 1.
  public func fail(_ message: String) -> Never {
    Self.fail(name, message)
  }

  /// Writes `text` to standard output at once (no stdio buffering: the first
  /// line is what a test waits for).
  public static func say(_ text: String) {
    var text = text
    text.withUTF8 { _ = unsafe write(1, $0.baseAddress, $0.count) }
  }

  private static func fail(_ name: String, _ message: String) -> Never {
    var text = "\(name): \(message)\n"
    text.withUTF8 { _ = unsafe write(2, $0.baseAddress, $0.count) }
    exit(1)
  }
}

extension ServerCommandLine {
  /// Listens on ``address``, prints "listening on ADDRESS" and serves every
  /// connection with `handler` until ``connectionLimit`` connections have
  /// been served (or forever); returns the exit status. Exits with a message
  /// on failure.
  ///
  /// On one reactor, or with ``reactorCount`` on a `ReactorGroup` through a
  /// `GroupListener` (a listening socket per reactor, `SO_REUSEPORT`), each
  /// connection on the reactor that accepted it. There, with a limit, the
  /// listeners are closed once that many connections have been served
  /// (connections accepted meanwhile are served, or closed if not yet handed
  /// to a handler).
  public func serve(_ handler: @escaping @Sendable (SocketStream) async -> Void) async -> Int32 {
    if let reactorCount {
      return await serveOnGroup(of: reactorCount, handler)
    }
    let reactor: Reactor
    do {
      reactor = try Reactor()
    } catch {
      fail("\(error)")
    }
    let exitCode = await Task(executorPreference: reactor) { () async -> Int32 in
      do {
        let listener = try await SocketListener.listen(at: address, on: reactor)
        Self.say("listening on \(listener.localAddress)\n")
        try await listener.serve(connectionLimit: connectionLimit, handler)
        try await listener.close()
        return 0
      } catch {
        fail("\(error)")
      }
    }.value
    await reactor.shutdown()
    return exitCode
  }

  private func serveOnGroup(
    of count: Int, _ handler: @escaping @Sendable (SocketStream) async -> Void
  ) async -> Int32 {
    let group: ReactorGroup
    do {
      group = try ReactorGroup(reactorCount: count)
    } catch {
      fail("\(error)")
    }
    let exitCode = await Task(executorPreference: group) { () async -> Int32 in
      do {
        let listener = try await GroupListener.listen(at: address, group: group)
        Self.say("listening on \(listener.localAddress)\n")
        let limit = connectionLimit
        let served = Counter()
        try await listener.serve { connection in
          await handler(connection)
          if let limit, served.increment() == limit { try? await listener.close() }
        }
        return 0
      } catch {
        fail("\(error)")
      }
    }.value
    await group.shutdown()
    return exitCode
  }
}

/// A count shared by the connections' tasks.
private final class Counter: Sendable {
  private let value = Atomic<Int>(0)
  /// Adds one and returns the new count.
  func increment() -> Int { value.add(1, ordering: .relaxed).newValue }
}
