import Glibc
import TestSupport
import Testing

@testable import UringReactor

/// Runs the `global-executor` example (built next to this test executable), a
/// program that adopts the reactors as its global and main executors.
@Suite(.requiresUring, .sharesProcess)
struct GlobalExecutorTests {
  @Test func exampleRunsEverythingOnReactorThreadsAndExitsCleanly() throws {
    let path = try #require(
      BuiltExecutable.path("global-executor"),
      Comment(rawValue: BuiltExecutable.notFound("global-executor")))
    let output = try ChildProcess.run(path, [])
    #expect(
      output.exitCode == 0, "wait status \(output.status), stdout: \(output.standardOutput)")
    let lines = output.standardOutput.split(separator: "\n").map(String.init)
    let reports = lines.filter { $0.hasPrefix("context=") }
    func fields(_ line: String) -> [String: String] {
      var result: [String: String] = [:]
      for part in line.split(separator: "|") {
        let pair = trimmed(part).split(separator: "=", maxSplits: 1)
        if pair.count == 2 { result[String(pair[0])] = String(pair[1]) }
      }
      return result
    }
    let parsed = reports.map(fields)
    let expected = [
      "async entry point", "after Task.sleep (ContinuousClock)",
      "after Task.sleep (SuspendingClock)", "Task {}", "Task.detached after Task.sleep",
      "@MainActor", "@MainActor after Task.sleep", "actor method", "actor counted 3",
      "task group child 0", "after reactor.nop()", "offloaded work ran off the reactors: true",
    ]
    for context in expected {
      #expect(parsed.contains { $0["context"] == context }, "missing: \(context)")
    }
    for report in parsed {
      let reactor = report["reactor"] ?? "none"
      #expect(reactor.hasPrefix("uring-"), "not on a reactor: \(report)")
      if reactor != "uring-0" {
        #expect(report["thread"] == reactor, "thread name differs: \(report)")
      }
      if report["context"]?.hasPrefix("@MainActor") == true {
        #expect(report["main-thread"] == "yes" && reactor == "uring-0", "\(report)")
      }
    }
    #expect(lines.last?.hasPrefix("done: ") == true)
  }
}

/// `text` without leading and trailing spaces.
private func trimmed(_ text: Substring) -> String {
  String(String(text.drop { $0 == " " }.reversed().drop { $0 == " " }).reversed())
}
