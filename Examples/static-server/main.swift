// static-server: an HTTP/1.1 static-file server on a ReactorGroup that sends
// file bodies with SocketStream.send(file:range:) (splice, no copy through
// user memory).
//
//   static-server DIRECTORY [ADDRESS] [--port N] [--reactors N] [--connections N] [--copy]
//
// ADDRESS defaults to 127.0.0.1:0; --port N replaces its port. The server
// prints "listening on ADDRESS" on its first line, then serves the files
// beneath DIRECTORY on a group of --reactors N reactors (default 1) through
// a GroupListener. GET and HEAD; 404 for what is missing, not a regular file
// or outside DIRECTORY (files are opened with openat2 and RESOLVE_BENEATH:
// `..` above the root, absolute paths and symbolic links pointing out are
// refused by the kernel); 405 for other methods; 400 for a malformed
// request. Connections stay open (HTTP/1.1 keep-alive) unless the client
// says `Connection: close` or speaks HTTP/1.0 without keep-alive. --copy
// reads each body into memory and writes it instead (File.readAll +
// SocketStream.writeAll), to measure what the splice saves.
import Glibc
import ServerCommandLine
import Synchronization
import UringReactor

/// The parsed command line: the directory, then what `ServerCommandLine` serves with.
func parseArguments() -> (RootDirectories, ServerCommandLine) {
  let name = "static-server"
  var positional: [String] = []
  var port: Int?
  var reactors = 1
  var limit: Int?
  var copiesBodies = false
  var arguments = CommandLine.arguments.dropFirst()
  func number(_ option: String) -> Int {
    guard let value = arguments.popFirst().flatMap({ Int($0) }), value >= 0 else {
      ServerCommandLine.say("\(name): \(option) needs a number\n")
      exit(1)
    }
    return value
  }
  while let argument = arguments.popFirst() {
    switch argument {
    case "--port": port = number(argument)
    case "--reactors": reactors = max(number(argument), 1)
    case "--connections": limit = number(argument)
    case "--copy": copiesBodies = true
    case "-h", "--help":
      ServerCommandLine.say(
        "usage: \(name) DIRECTORY [ADDRESS] [--port N] [--reactors N] [--connections N]\n")
      exit(0)
    default: positional.append(argument)
    }
  }
  guard let root = positional.first else {
    ServerCommandLine.say("usage: \(name) DIRECTORY [ADDRESS] [--port N] [--reactors N]\n")
    exit(1)
  }
  var addressText = positional.count > 1 ? positional[1] : "127.0.0.1:0"
  if let port, let colon = addressText.lastIndex(of: ":") {
    addressText = String(addressText[..<colon]) + ":\(port)"
  }
  guard let address = try? SocketAddress(parsing: addressText) else {
    ServerCommandLine.say("\(name): cannot parse the address '\(addressText)'\n")
    exit(1)
  }
  let command = ServerCommandLine(
    name: name, address: address, connectionLimit: limit, reactorCount: reactors)
  return (RootDirectories(path: root, copiesBodies: copiesBodies), command)
}

let (roots, command) = parseArguments()
exit(await command.serve { connection in await serve(connection, roots: roots) })
