// A child process for the broken-pipe tests (BrokenPipeTests): sets the
// SIGPIPE disposition its argument names ("default", "ignore" or "handler"),
// makes a socket (which once ignored SIGPIPE process-wide), writes through a
// reactor to a pipe and to sockets whose reader is gone, and prints one
// `key=value` line per finding. Killed by SIGPIPE, it prints nothing after
// the line of the write that raised it.
import Glibc
import Synchronization
import SystemPackage
import UringReactor

let handlerCalls = Atomic<Int>(0)

/// The `SIGPIPE` handler of mode "handler": counts its calls.
func countBrokenPipeSignal(_: CInt) {
  handlerCalls.add(1, ordering: .relaxed)
}

@main
struct BrokenPipeProbe {
  static func main() async throws {
    let mode = CommandLine.arguments.dropFirst().first ?? "default"
    switch mode {
    case "ignore": _ = signal(SIGPIPE, SIG_IGN)
    case "handler": _ = signal(SIGPIPE, countBrokenPipeSignal)
    default: _ = signal(SIGPIPE, SIG_DFL)
    }
    let reactor = try Reactor()
    let (socket, peer) = try SocketStream.pair(on: reactor)
    try await peer.close()
    report(
      "socket-send",
      await outcome { () throws(IOError) in
        _ = try await socket.write(from: SharedBuffer(Array("x".utf8)))
      })

    let socketFDs = try FileDescriptor.socketPair()
    try socketFDs.1.close()
    let socketFile = File(adopting: socketFDs.0, on: reactor)
    report(
      "socket-write",
      await outcome { () throws(IOError) in
        _ = try await socketFile.write(from: SharedBuffer(Array("x".utf8)))
      })

    let pipe = try FileDescriptor.pipe()
    try pipe.readEnd.close()
    let file = File(adopting: pipe.writeEnd, on: reactor)
    report(
      "pipe-write",
      await outcome { () throws(IOError) in
        _ = try await file.write(from: SharedBuffer(Array("x".utf8)))
      })

    var action = sigaction()
    unsafe sigaction(SIGPIPE, nil, &action)
    let handler = unsafe unsafeBitCast(action.__sigaction_handler.sa_handler, to: Int.self)
    let disposition =
      unsafe handler == unsafeBitCast(SIG_DFL, to: Int.self)
      ? "default" : handler == unsafeBitCast(SIG_IGN, to: Int.self) ? "ignore" : "handler"
    report("disposition", disposition)
    report("handler-calls", "\(handlerCalls.load(ordering: .relaxed))")
    try? await file.close()
    try? await socketFile.close()
    try? await socket.close()
    await reactor.shutdown()
    report("done", "yes")
  }

  nonisolated(nonsending) static func outcome(
    _ body: nonisolated(nonsending) () async throws(IOError) -> Void
  ) async -> String {
    do throws(IOError) {
      try await body()
      return "ok"
    } catch {
      return error.isBrokenPipe ? "EPIPE" : "\(error)"
    }
  }

  static func report(_ key: String, _ value: String) {
    print("\(key)=\(value)")
    fflush(nil)
  }
}

extension FileDescriptor {
  /// A connected pair of Unix-domain stream sockets, as plain descriptors.
  static func socketPair() throws -> (FileDescriptor, FileDescriptor) {
    var fds: [CInt] = [-1, -1]
    guard unsafe socketpair(AF_UNIX, CInt(SOCK_STREAM.rawValue), 0, &fds) == 0 else {
      throw Errno(rawValue: errno)
    }
    return (FileDescriptor(rawValue: fds[0]), FileDescriptor(rawValue: fds[1]))
  }
}
