import UringReactor

// The code of the DocC articles (Sources/UringReactor/UringReactor.docc),
// compiled here and run by DocSnippetTests. Each region between
// `// snippet: NAME` and `// end-snippet` is, dedented, the code block that
// follows `<!-- snippet: NAME -->` in an article; DocSnippetTests checks that
// they are equal, so edit both together.

enum DocSnippets {
  static func gettingStarted() async throws {
    // snippet: getting-started
    let reactor = try Reactor()  // throws UringUnavailableError if io_uring can't be used

    // A task that prefers the reactor runs on its loop thread.
    try await Task(executorPreference: reactor) {
      try await reactor.nop()  // one trip through the ring
    }.value

    // Cancels what is in flight, waits for every completion, joins the thread.
    await reactor.shutdown()
    // end-snippet
  }

  // snippet: pinned-actor
  actor Journal {
    let reactor: Reactor
    init(reactor: Reactor) { self.reactor = reactor }

    // The actor's methods run on the reactor's loop thread.
    nonisolated var unownedExecutor: UnownedSerialExecutor {
      reactor.asUnownedSerialExecutor()
    }

    func append(_ line: String, to path: FilePath) async throws(IOError) {
      let file = try await File.open(
        path, .writeOnly, options: [.create, .append], permissions: .ownerReadWrite,
        on: reactor)
      _ = try await file.write(from: SharedBuffer(Array((line + "\n").utf8)))
      try await file.close()
    }
  }
  // end-snippet

  static func files(directory: FilePath, reactor: Reactor) async throws -> [UInt8] {
    // snippet: files
    let path = directory.appending("hello.txt")
    let file = try await File.open(
      path, .readWrite, options: [.create, .truncate], permissions: .ownerReadWrite,
      on: reactor)
    // The buffer is lent to the kernel until the write's completion.
    _ = try await file.write(from: SharedBuffer(Array("hello, io_uring\n".utf8)), at: 0)
    let buffer = SharedBuffer(capacity: 4096)
    let count = try await file.read(into: buffer, at: 0)  // 16
    try await file.close()
    // end-snippet
    precondition(count == 16)
    return try buffer.bytes()
  }

  static func echo(reactor: Reactor) async throws -> [UInt8] {
    // snippet: echo
    let listener = try await SocketListener.listen(at: .loopbackIPv4(port: 0), on: reactor)
    async let served: Void = listener.serve(connectionLimit: 1) { connection in
      // Echo every chunk received until the client closes its side.
      while let bytes = try? await connection.receive() {
        try? await connection.writeAll(bytes)
      }
    }
    let client = try await SocketStream.connect(to: listener.localAddress, on: reactor)
    try await client.writeAll(copying: Array("ping".utf8))
    try await client.shutdown(.write)
    let reply = SharedBuffer(capacity: 64)
    _ = try await client.read(into: reply)
    try await served
    // end-snippet
    return try reply.bytes()
  }

  static func memory(reactor: Reactor) async throws -> IOError? {
    let (reader, writer) = try SocketStream.pair(on: reactor)
    // snippet: memory-busy
    let buffer = SharedBuffer(capacity: 64)
    async let read = reader.read(into: buffer)  // lends the buffer to the kernel
    // ...
    // end-snippet
    while !buffer.isKernelWriting { await Task.yield() }
    // snippet: memory-rethrow
    do throws(IOError) {
      // Refused while the kernel may write the buffer: an IOError (EBUSY).
      let count = try IOError.rethrowing(
        buffer.withBytes { (span: RawSpan) throws(Never) in span.byteCount })
      print(count)
    } catch {
      print(error)  // buffer access: the kernel may be writing this memory...
    }
    // end-snippet
    var refused: IOError?
    do throws(IOError) {
      _ = try IOError.rethrowing(
        buffer.withBytes { (span: RawSpan) throws(Never) in span.byteCount })
    } catch {
      refused = error
    }
    try await writer.writeAll(copying: [1])
    _ = try await read
    return refused
  }

  static func batch(file: File) async -> Int {
    // snippet: batch
    // One suspension for 32 reads: one hop, one io_uring_enter, one wake-up.
    let requests = (0..<32).map { index in
      FileReadRequest(into: SharedBuffer(capacity: 4096), at: UInt64(index) * 4096)
    }
    let results = await file.read(batch: requests)
    let bytes = results.reduce(0) { $0 + ((try? $1.get()) ?? 0) }
    // end-snippet
    return bytes
  }
}
