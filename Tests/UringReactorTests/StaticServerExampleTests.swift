import Glibc
import TestSupport
import Testing

@testable import UringReactor

/// The static-server example on a group of two reactors, driven by `curl`
/// (a 50 MiB download compared by SHA-256, refused escapes, keep-alive) and
/// `wrk`. Skipped, with a message, when the example or a tool is missing.
@Suite(.requiresUring, .sharesProcess, .serialized)
struct StaticServerExampleTests {
  /// A directory to serve: `index.html`, `64k.bin`, `big.bin` (50 MiB),
  /// `out` (an absolute symbolic link to a file outside it), and a file
  /// `secret` beside it that no request may reach.
  final class Site {
    let parent = "/tmp/uring-reactor-test-\(getpid())-static"
    var root: String { parent + "/root" }
    let bigCount = 50 << 20

    init() {
      mkdir(parent, 0o700)
      mkdir(root, 0o700)
      _ = temporaryFileAt(parent + "/secret", Array("secret\n".utf8))
      _ = temporaryFileAt(root + "/index.html", Array("<p>hello</p>\n".utf8))
      var random = SeededRandom(seed: 64)
      _ = temporaryFileAt(root + "/64k.bin", random.bytes(65_536))
      // 50 MiB: a random MiB, each copy stamped with its index.
      var block = random.bytes(1 << 20)
      let fd = open(root + "/big.bin", O_CREAT | O_TRUNC | O_WRONLY | O_CLOEXEC, 0o600)
      for index in 0..<(bigCount >> 20) {
        block[0] = UInt8(truncatingIfNeeded: index)
        _ = block.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
      }
      close(fd)
      symlink(parent + "/secret", root + "/out")
    }

    deinit {
      for name in ["index.html", "64k.bin", "big.bin", "out"] { unlink(root + "/" + name) }
      rmdir(root)
      unlink(parent + "/secret")
      unlink(parent + "/downloaded")
      rmdir(parent)
    }
  }

  /// Runs `body` with the address of a server on a new site (two
  /// reactors), then stops the server with `SIGTERM` and checks it did not crash.
  static func withServer(_ body: (Site, String) throws -> Void) throws {
    let site = Site()
    let (server, address) = try start(site)
    try body(site, address)
    server.terminate()
    #expect(server.wait() == nil, "stopped by SIGTERM, not crashed")
  }

  /// Starts the server on `site` (two reactors) and returns it with its address.
  static func start(_ site: Site) throws -> (ChildProcess, String) {
    let server = try ChildProcess(
      SocketExamples.path("static-server")!, [site.root, "127.0.0.1:0", "--reactors", "2"])
    let line = server.readLine() ?? ""
    guard line.hasPrefix("listening on ") else {
      throw RawSocketError(call: "static-server printed '\(line)'", errno: 0)
    }
    return (server, String(line.dropFirst("listening on ".count)))
  }

  static func curl(_ arguments: [String]) throws -> ChildOutput {
    try ChildProcess.run(
      SocketExamples.tool("curl")!, ["-s", "--max-time", "60"] + arguments, timeLimit: .seconds(90))
  }

  /// The SHA-256 `sha256sum` prints for `path`.
  static func sha256(_ path: String) throws -> String {
    let output = try ChildProcess.run(SocketExamples.tool("sha256sum")!, [path])
    return String(output.standardOutput.prefix { $0 != " " })
  }

  @Test(
    .enabled(
      if: SocketExamples.available(example: "static-server", tools: ["curl", "sha256sum"])))
  func aFiftyMebibyteDownloadMatchesItsSHA256() throws {
    try Self.withServer { site, address in
      let downloaded = site.parent + "/downloaded"
      let result = try Self.curl([
        "-o", downloaded, "-w", "%{http_code} %{size_download}", "http://\(address)/big.bin",
      ])
      #expect(result.standardOutput == "200 \(site.bigCount)")
      #expect(try Self.sha256(downloaded) == Self.sha256(site.root + "/big.bin"))
    }
  }

  /// `..` above the root and a symbolic link pointing out are refused by
  /// `openat2(RESOLVE_BENEATH)`: 404, and the secret never appears; a
  /// directory is not served either.
  @Test(.enabled(if: SocketExamples.available(example: "static-server", tools: ["curl"])))
  func escapesFromTheRootAreRefused() throws {
    try Self.withServer { site, address in
      for path in [
        "/../secret", "/%2e%2e/secret", "/out", "/" + site.parent + "/secret", "/nothing",
      ] {
        let result = try Self.curl([
          "--path-as-is", "-w", "%{http_code}", "http://\(address)\(path)",
        ])
        #expect(result.standardOutput == "404", "\(path)")
        #expect(!result.standardOutput.contains("secret"))
      }
    }
  }

  /// Several requests on one connection (curl reuses it: one connect in
  /// all), GET and HEAD, and 405 for another method, on the same connection.
  @Test(.enabled(if: SocketExamples.available(example: "static-server", tools: ["curl"])))
  func keepAliveServesSeveralRequestsOnOneConnection() throws {
    try Self.withServer { _, address in
      let base = "http://\(address)"
      // One `-o` per URL: each body is discarded.
      let urls = ["/", "/64k.bin", "/index.html", "/64k.bin"].flatMap {
        ["-o", "/dev/null", base + $0]
      }
      let result = try Self.curl(
        ["-w", "%{http_code} %{num_connects} %{size_download}\\n"] + urls)
      #expect(result.standardOutput == "200 1 13\n200 0 65536\n200 0 13\n200 0 65536\n")
      let head = try Self.curl(["-I", base + "/64k.bin"])
      #expect(head.standardOutput.contains("Content-Length: 65536"))
      let post = try Self.curl(["-X", "POST", "-o", "/dev/null", "-w", "%{http_code}", base + "/"])
      #expect(post.standardOutput == "405")
    }
  }

  /// `wrk` over 16 keep-alive connections for a second: every response 2xx.
  @Test(.enabled(if: SocketExamples.available(example: "static-server", tools: ["wrk"])))
  func wrkGetsEveryFile() throws {
    try Self.withServer { _, address in
      let wrk = try ChildProcess(
        SocketExamples.tool("wrk")!,
        ["-t", "2", "-c", "16", "-d", "1s", "http://\(address)/64k.bin"])
      expectEveryResponse(of: wrk, moreThan: 16)
    }
  }
}

/// Waits for `wrk` and checks its report: more than `requests` requests,
/// every response 2xx, no socket error.
func expectEveryResponse(of wrk: ChildProcess, moreThan requests: Int) {
  let report = String(decoding: wrk.readAll(), as: UTF8.self)
  #expect(wrk.wait() == 0)
  let line = report.split(separator: "\n").first { $0.contains(" requests in ") }
  let count = line.flatMap { Int($0.split(separator: " ").first ?? "") } ?? 0
  #expect(count > requests, "\(report)")
  #expect(!report.contains("Non-2xx"), "\(report)")
  #expect(!report.contains("Socket errors"), "\(report)")
}

/// Writes `bytes` to a new file at `path` and returns the path.
func temporaryFileAt(_ path: String, _ bytes: [UInt8]) -> String {
  let fd = open(path, O_CREAT | O_TRUNC | O_WRONLY | O_CLOEXEC, 0o600)
  _ = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
  close(fd)
  return path
}
