// uring-cp: copies a file like cp(1), streaming it through a UringReactor
// with bounded memory: a few chunks read ahead (IORING_OP_READ) and a few
// writes in flight (IORING_OP_WRITE), the same buffers reused throughout.
//
//   uring-cp [--chunk-size BYTES] [--read-ahead N] [--in-flight N] [--sync] [-v] SOURCE DEST
//   uring-cp -r [--replace] [--jobs N] [-v] SOURCE DEST      (a tree: FileSystem.copyTree)
//   uring-cp --method splice|read-write [-v] SOURCE DEST     (FileSystem.copyFile)
//
// DEST may be a directory: the copy goes there under SOURCE's name (not
// with -r, where DEST must not exist unless --replace).
import Glibc
import SystemPackage
import UringReactor

struct Arguments {
  var source = FilePath()
  var destination = FilePath()
  var chunkSize = 1 << 20
  var readAhead = 4
  var inFlight = 4
  var sync = false
  var verbose = false
  var recursive = false
  var replace = false
  var jobs = 4
  var method: CopyOptions.Method?
}

func fail(_ message: String) -> Never {
  var text = "uring-cp: \(message)\n"
  text.withUTF8 { _ = unsafe write(2, $0.baseAddress, $0.count) }
  exit(1)
}

func parse(_ arguments: [String]) -> Arguments {
  var parsed = Arguments()
  var paths: [String] = []
  var rest = arguments.makeIterator()
  func number(_ flag: String) -> Int {
    guard let text = rest.next(), let value = Int(text), value > 0 else {
      fail("\(flag) wants a positive whole number")
    }
    return value
  }
  while let argument = rest.next() {
    switch argument {
    case "--chunk-size": parsed.chunkSize = number(argument)
    case "--read-ahead": parsed.readAhead = number(argument)
    case "--in-flight": parsed.inFlight = number(argument)
    case "--sync": parsed.sync = true
    case "-r", "--recursive": parsed.recursive = true
    case "--replace": parsed.replace = true
    case "--jobs": parsed.jobs = number(argument)
    case "--method":
      switch rest.next() {
      case "splice": parsed.method = .splice
      case "read-write": parsed.method = .readWrite
      default: fail("--method wants splice or read-write")
      }
    case "-v", "--verbose": parsed.verbose = true
    case "-h", "--help":
      print(
        "usage: uring-cp [--chunk-size BYTES] [--read-ahead N] [--in-flight N] [--sync] [-v] "
          + "SOURCE DEST\n       uring-cp -r [--replace] [--jobs N] [-v] SOURCE DEST\n"
          + "       uring-cp --method splice|read-write [-v] SOURCE DEST")
      exit(0)
    default: paths.append(argument)
    }
  }
  guard paths.count == 2 else { fail("want SOURCE and DEST (see --help)") }
  parsed.source = FilePath(paths[0])
  parsed.destination = FilePath(paths[1])
  return parsed
}

/// Copies `arguments.source` to `arguments.destination`; returns the bytes copied.
func copy(_ arguments: Arguments, on reactor: Reactor) async throws(IOError) -> UInt64 {
  let fileSystem = FileSystem(on: reactor)
  let options = CopyOptions(
    replaceExisting: arguments.replace, method: arguments.method ?? .automatic,
    chunkSize: arguments.chunkSize, concurrentFiles: arguments.jobs)
  if arguments.recursive {
    try await fileSystem.copyTree(
      from: arguments.source, to: arguments.destination, options: options)
    return 0
  }
  if arguments.method != nil {
    return try await fileSystem.copyFile(
      from: arguments.source, to: arguments.destination, options: options)
  }
  let status = try await fileSystem.status(of: arguments.source)
  guard status.type != .directory else {
    throw IOError(.system(.isDirectory), operation: .openat, path: arguments.source)
  }
  var destination = arguments.destination
  if (try? await fileSystem.status(of: destination))?.type == .directory,
    let name = arguments.source.lastComponent
  {
    destination.append(name)
  }
  let source = try await File.open(arguments.source, .readOnly, on: reactor)
  let target = try await File.open(
    destination, .writeOnly, options: [.create, .truncate], permissions: status.permissions,
    on: reactor)
  if status.type == .regular, status.size > 0 {
    // Reserve the space up front; not every file system can (EOPNOTSUPP).
    try? await target.allocate(length: status.size, mode: .keepSize)
    try? await source.advise(.sequential)
  }
  // Regular files are read at offsets with read-ahead; pipes and devices at
  // their position, one read at a time.
  let seekable = status.type == .regular || status.type == .blockDevice
  let chunks = source.chunks(
    from: seekable ? 0 : nil, chunkSize: arguments.chunkSize, readAhead: arguments.readAhead)
  // Likewise for the destination: a pipe or a terminal is written at its
  // position, one write at a time, to keep the order.
  let targetType = try await target.status().type
  let writer = target.writer(
    startingAt: targetType == .regular || targetType == .blockDevice ? 0 : nil,
    maxInFlight: arguments.inFlight)
  for try await chunk in chunks {
    // Zero copy: the writer writes the chunk's own buffer, which goes back
    // to the reader after the write's completion.
    try await writer.write(chunk)
  }
  let written = try await writer.finish()
  if arguments.sync { try await target.dataSync() }
  try await target.close()
  try await source.close()
  return written
}

let arguments = parse(Array(CommandLine.arguments.dropFirst()))
let reactor: Reactor
do {
  reactor = try Reactor()
} catch {
  fail("cannot start the reactor: \(error)")
}
let clock = ContinuousClock()
let started = clock.now
let result = await Task(executorPreference: reactor) { () async -> Result<UInt64, IOError> in
  do throws(IOError) {
    return .success(try await copy(arguments, on: reactor))
  } catch {
    return .failure(error)
  }
}.value
await reactor.shutdown()
switch result {
case .success(let bytes):
  if arguments.verbose {
    let seconds = started.duration(to: clock.now).components
    let elapsed = Double(seconds.seconds) + Double(seconds.attoseconds) * 1e-18
    let rate = elapsed > 0 ? Double(bytes) / elapsed / 1e6 : 0
    print("\(bytes) bytes in \(Int(elapsed * 1000)) ms (\(Int(rate)) MB/s)")
  }
case .failure(let error):
  fail("\(error)")
}
