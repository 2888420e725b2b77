// The reactors as the process's executors: every task, `Task.sleep`,
// `@MainActor` code and actor below runs on an io_uring reactor thread.
//
// Run: swift run global-executor
// Each line says where a piece of code ran: the reactor (`Reactor.current`),
// whether that is the process's main thread, and the OS thread's name.
import CLibUring
import Glibc
import UringReactor

@main
struct GlobalExecutorExample: UringReactorMain {
  static func reactorMain() async throws {
    report("async entry point")
    try await Task.sleep(for: .milliseconds(2))
    report("after Task.sleep (ContinuousClock)")
    try await Task.sleep(for: .milliseconds(1), clock: .suspending)
    report("after Task.sleep (SuspendingClock)")

    await Task { report("Task {}") }.value
    await Task.detached {
      try? await Task.sleep(for: .milliseconds(1))
      report("Task.detached after Task.sleep")
    }.value

    await onMainActor()

    let counter = Counter()
    for _ in 0..<3 { await counter.increment() }
    report("actor counted \(await counter.value)")

    let reactors = await withTaskGroup(of: String.self) { group in
      for index in 0..<8 {
        group.addTask {
          try? await Task.sleep(for: .microseconds(100 * index))
          report("task group child \(index)")
          return Reactor.current?.name ?? "none"
        }
      }
      var names: Set<String> = []
      for await name in group { names.insert(name) }
      return names.sorted()
    }
    report("task group children ran on \(reactors.joined(separator: ","))")

    // I/O on the reactor the task runs on: no hop.
    try await Reactor.current!.nop()
    report("after reactor.nop()")

    let group = ReactorRuntime.group!
    let listed = try await group.offload { () -> Bool in
      // Blocking work runs on the group's offload pool, off the reactors.
      Reactor.current == nil
    }
    report("offloaded work ran off the reactors: \(listed)")
    print("done: \(group.count) reactors")
  }
}

actor Counter {
  private(set) var value = 0

  func increment() {
    value += 1
    report("actor method")
  }
}

@MainActor
func onMainActor() async {
  report("@MainActor")
  try? await Task.sleep(for: .milliseconds(1))
  report("@MainActor after Task.sleep")
  MainActor.assertIsolated()
}

/// Prints where the caller runs.
func report(_ context: String) {
  var name = [CChar](repeating: 0, count: 32)
  _ = unsafe clu_get_thread_name(&name, name.count)
  let threadName = String(
    decoding: name.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
  let mainThread = clu_gettid() == getpid() ? "yes" : "no"
  print(
    "context=\(context) | reactor=\(Reactor.current?.name ?? "none") | main-thread=\(mainThread)"
      + " | thread=\(threadName)")
}
