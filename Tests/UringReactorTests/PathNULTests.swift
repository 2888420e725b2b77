import Glibc
import SystemPackage
import TestSupport
import Testing
import Uring

@testable import UringReactor

/// Text holding a NUL byte is refused as a path, with `EINVAL` naming the
/// operation and the path, before anything reaches the kernel: a C path ends
/// at the NUL, so `abc\0def` would otherwise name (and create) `abc`.
@Suite(.requiresUring, .sharesProcess)
struct PathNULTests {
  @Test func fileOpenRefusesAPathHoldingANUL() async throws {
    let scratch = try ScratchDirectory("nul-open")
    defer { scratch.remove() }
    let bad = scratch.root.string + "/abc\u{0}def"
    try await withReactor { reactor in
      let recorder = OperationRecorder()
      try await recorder.install(on: reactor)
      let error = await #expect(throws: IOError.self) {
        _ = try await File.open(
          bad, .writeOnly, options: [.create], permissions: .ownerReadWrite, on: reactor)
      }
      expectRefused(error, .openat, scratch)
      let resolving = await #expect(throws: IOError.self) {
        _ = try await File.open(
          bad, .writeOnly, options: [.create], permissions: .ownerReadWrite,
          resolving: [.beneath], on: reactor)
      }
      expectRefused(resolving, .openat2, scratch)
      let chunks = await #expect(throws: IOError.self) {
        _ = try await FileSystem(on: reactor).readChunks(of: bad)
      }
      expectRefused(chunks, .openat, scratch)
      #expect(recorder.preparedCount(.openat) == 0 && recorder.preparedCount(.openat2) == 0)
      #expect(access(scratch.path("abc").string, F_OK) != 0, "abc was created")
      // The same text without the NUL byte opens as usual.
      let file = try await File.open(
        scratch.root.string + "/abc", .writeOnly, options: [.create],
        permissions: .ownerReadWrite, on: reactor)
      try await file.close()
    }
  }

  @Test func fileSystemRefusesPathsHoldingANUL() async throws {
    let scratch = try ScratchDirectory("nul-fs")
    defer { scratch.remove() }
    let bad = scratch.root.string + "/abc\u{0}def"
    let good = scratch.root.string + "/good"
    try writeFileBlocking(scratch.path("good"), [1])
    try await withReactor { reactor in
      let fs = FileSystem(on: reactor)
      let recorder = OperationRecorder()
      try await recorder.install(on: reactor)
      let calls: [(Opcode, @Sendable () async throws(IOError) -> Void)] = [
        (.mkdirat, { () throws(IOError) in try await fs.makeDirectory(at: bad) }),
        (.mkdirat, { () throws(IOError) in try await fs.makeDirectories(at: bad) }),
        (.unlinkat, { () throws(IOError) in try await fs.remove(at: bad) }),
        (.unlinkat, { () throws(IOError) in try await fs.removeDirectory(at: bad) }),
        (.unlinkat, { () throws(IOError) in try await fs.removeTree(at: bad) }),
        (.renameat, { () throws(IOError) in try await fs.rename(good, to: bad) }),
        (.renameat, { () throws(IOError) in try await fs.rename(bad, to: good) }),
        (.linkat, { () throws(IOError) in try await fs.link(bad, to: good) }),
        (.linkat, { () throws(IOError) in try await fs.link(good, to: bad) }),
        (.symlinkat, { () throws(IOError) in try await fs.symbolicLink(bad, to: good) }),
        (.symlinkat, { () throws(IOError) in try await fs.symbolicLink(good, to: bad) }),
        (.statx, { () throws(IOError) in _ = try await fs.status(of: bad) }),
        (.statx, { () throws(IOError) in _ = try await fs.exists(bad) }),
        (.offloaded, { () throws(IOError) in _ = try await fs.contentsOfDirectory(at: bad) }),
        (
          .offloaded,
          { () throws(IOError) in _ = try await fs.destinationOfSymbolicLink(at: bad) }
        ),
      ]
      for (opcode, call) in calls {
        let error = await #expect(throws: IOError.self) { try await call() }
        expectRefused(error, opcode, scratch)
      }
      for opcode: Opcode in [.mkdirat, .unlinkat, .renameat, .linkat, .symlinkat, .statx] {
        #expect(recorder.preparedCount(opcode) == 0, "\(opcode.name) was submitted")
      }
      #expect(access(scratch.path("abc").string, F_OK) != 0, "abc was created")
      #expect(try await fs.exists(good))
    }
  }

  @Test func unixSocketAddressesRefuseAPathHoldingANUL() throws {
    let bad = "/tmp/abc\u{0}def"
    #expect(throws: SocketAddressError(.nulInUnixPath, input: bad)) {
      _ = try SocketAddress.unixPath(bad)
    }
    let parsed = #expect(throws: SocketAddressError.self) {
      _ = try SocketAddress(parsing: "unix:" + bad)
    }
    #expect(parsed?.kind == .nulInUnixPath)
  }

  /// `error` is the refusal of a path holding a NUL byte, for `opcode`.
  private func expectRefused(_ error: IOError?, _ opcode: Opcode, _ scratch: ScratchDirectory) {
    guard let error else { return }
    #expect(error.errno == .invalidArgument)
    #expect(error.operation == opcode, "\(error)")
    #expect(error.path?.string == scratch.root.string + "/abc\\0def", "\(error)")
    #expect(error.description.contains("NUL"), "\(error)")
  }
}
