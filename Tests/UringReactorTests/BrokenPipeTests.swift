import TestSupport
import Testing

/// A write whose reader is gone throws `EPIPE` and never raises `SIGPIPE`,
/// whatever the process's disposition, which the reactor leaves as the
/// program set it. Run in a child process (`broken-pipe-probe`): a `SIGPIPE`
/// with the default disposition would kill it.
@Suite(.requiresUring, .sharesProcess)
struct BrokenPipeTests {
  @Test(arguments: ["default", "ignore", "handler"])
  func writesToAGoneReaderThrowEPIPEAndLeaveTheDispositionAlone(disposition: String) throws {
    let path = try #require(
      BuiltExecutable.path("broken-pipe-probe"),
      Comment(rawValue: BuiltExecutable.notFound("broken-pipe-probe")))
    let output = try ChildProcess.run(path, [disposition])
    var report: [String: String] = [:]
    for line in output.standardOutput.split(separator: "\n") {
      let pair = line.split(separator: "=", maxSplits: 1).map(String.init)
      if pair.count == 2 { report[pair[0]] = pair[1] }
    }
    #expect(
      output.exitCode == 0, "wait status \(output.status), stdout: \(output.standardOutput)")
    #expect(report["socket-send"] == "EPIPE")
    #expect(report["socket-write"] == "EPIPE")
    #expect(report["pipe-write"] == "EPIPE")
    #expect(report["disposition"] == disposition)
    #expect(report["handler-calls"] == "0")
    #expect(report["done"] == "yes")
  }
}
