import Glibc
import TestSupport
import Testing

/// Runs the `main-thread` example (built next to this test executable), a
/// program under ``ReactorRuntime``, once per case: `DispatchQueue.main`,
/// the main actor, Foundation's `RunLoop.main` with a `Timer`, and the
/// entry point returning while tasks sleep for an hour. Each child has a
/// generous time limit: a hang fails the test instead of stalling it.
@Suite(.requiresUring, .sharesProcess)
struct MainThreadTests {
  @Test func dispatchMainBlocksRunOnTheMainThreadIsolatedToTheMainActor() throws {
    let run = try runExample("dispatch")
    let expected = [
      "main.async from a task", "main.async from the main actor",
      "main.async from a Dispatch thread", "main.asyncAfter",
    ]
    #expect(run.reports.map { $0["context"] } == expected)
    for report in run.reports { expectOnMainActor(report) }
    #expect(run.lines.contains("main.async order kept: true"))
  }

  @Test func mainActorCodeRunsOnTheMainThread() throws {
    let run = try runExample("actor")
    let expected = ["Task { @MainActor }", "MainActor.run", "@MainActor after Task.sleep"]
    #expect(run.reports.map { $0["context"] } == expected)
    for report in run.reports { expectOnMainActor(report) }
  }

  /// The documented behaviour: a `Timer` on `RunLoop.main` is not served by
  /// the reactors; it fires while the program runs `RunLoop.main` (from the
  /// main actor, on the main thread).
  @Test func timerOnRunLoopMainFiresOnlyWhileTheRunLoopRuns() throws {
    let run = try runExample("runloop")
    #expect(run.lines.contains("timer fired by itself: false"))
    #expect(run.lines.contains("timer fired while RunLoop.main ran: true"))
    #expect(run.reports.map { $0["context"] } == ["Timer block"])
    for report in run.reports { expectOnMainActor(report) }
  }

  /// The entry point returns while four tasks sleep for an hour: the
  /// process exits (status 0) and the shutdown ends their sleeps, which
  /// return without throwing.
  @Test func entryPointReturningWithSleepersExitsAndEndsTheirSleeps() throws {
    let run = try runExample("sleepers")
    #expect(run.lines.contains("entry point returns with 4 tasks asleep"))
    let returned = run.lines.filter { $0.hasSuffix("returned early") }
    #expect(returned.count == 4, "\(run.lines)")
    #expect(!run.lines.contains { $0.contains("threw") })
  }
}

/// What one case of the example printed.
private struct ExampleRun {
  var lines: [String]
  /// The `context=... | key=value` lines, parsed.
  var reports: [[String: String]]
}

/// Runs `main-thread <name>` with a time limit and checks that it exited 0
/// and printed `done: <name>`.
private func runExample(_ name: String) throws -> ExampleRun {
  let path = try #require(
    BuiltExecutable.path("main-thread"),
    Comment(rawValue: BuiltExecutable.notFound("main-thread")))
  let output = try ChildProcess.run(path, [name], timeLimit: .seconds(60))
  #expect(!output.timedOut, "main-thread \(name) hung; stdout: \(output.standardOutput)")
  #expect(
    output.exitCode == 0, "wait status \(output.status), stdout: \(output.standardOutput)")
  let lines = output.standardOutput.split(separator: "\n").map(String.init)
  #expect(lines.contains("done: \(name)"), "\(lines)")
  let reports = lines.filter { $0.hasPrefix("context=") }.map { line in
    var fields: [String: String] = [:]
    for part in line.split(separator: "|") {
      let pair = part.split(separator: "=", maxSplits: 1).map {
        String($0.drop { $0 == " " }.reversed().drop { $0 == " " }.reversed())
      }
      if pair.count == 2 { fields[pair[0]] = pair[1] }
    }
    return fields
  }
  return ExampleRun(lines: lines, reports: reports)
}

private func expectOnMainActor(_ report: [String: String]) {
  #expect(report["reactor"] == "uring-0", "\(report)")
  #expect(report["main-thread"] == "yes", "\(report)")
  #expect(report["main-actor"] == "yes", "\(report)")
}
