// What the benchmark server processes (nio-echo-server, nio-http-server)
// share: the protocol uring-bench speaks with them. A server prints
// `port N` on stdout once it listens, then reads commands from stdin, one a
// line:
//   cpu   prints `cpu NANOSECONDS`: this process's CPU time so far (every
//         thread), for server CPU per operation;
// and exits when stdin closes (its parent exited or is done with it).
import Glibc

/// Writes `text` and a newline to `fd` (1: stdout, 2: stderr), unbuffered
/// (the C `stdout` global is not concurrency-safe to reference in Swift 6).
public func say(_ text: String, to fd: CInt = 1) {
  var line = text + "\n"
  line.withUTF8 { bytes in
    var offset = 0
    while offset < bytes.count {
      let written = write(fd, bytes.baseAddress! + offset, bytes.count - offset)
      if written <= 0 { return }
      offset += written
    }
  }
}

/// Prints `program: message` on stderr and exits with status 2.
public func exitWithUsageError(_ program: String, _ message: String) -> Never {
  say("\(program): \(message)", to: 2)
  exit(2)
}

/// The value of `--port N` (0, any free port, when absent), after checking
/// that `arguments` has nothing else but what `other` accepts (it gets an
/// argument and the iterator, and returns whether it took the argument).
public func parsePort(
  _ program: String,
  other: (String, inout IndexingIterator<ArraySlice<String>>) -> Bool = { _, _ in false }
) -> Int {
  var port = 0
  var arguments = CommandLine.arguments.dropFirst().makeIterator()
  while let argument = arguments.next() {
    if argument == "--port" {
      guard let value = arguments.next(), let parsed = Int(value), (0...65535).contains(parsed)
      else { exitWithUsageError(program, "--port wants a number from 0 to 65535") }
      port = parsed
    } else if !other(argument, &arguments) {
      exitWithUsageError(program, "unknown argument '\(argument)'")
    }
  }
  return port
}

/// Announces `port`, then answers commands from stdin until it closes, then
/// exits. Blocks the calling (main) thread: the server runs elsewhere (its
/// event loop, Swift's pool).
public func announceAndServeCommands(port: Int) -> Never {
  say("port \(port)")
  while let line = readLine() {
    switch line {
    case "cpu":
      var now = timespec()
      let nanoseconds =
        clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &now) == 0
        ? Int64(now.tv_sec) * 1_000_000_000 + Int64(now.tv_nsec) : -1
      say("cpu \(nanoseconds)")
    default:
      say("error unknown command '\(line)'")
    }
  }
  exit(0)
}
