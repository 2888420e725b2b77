// The main thread under ReactorRuntime: DispatchQueue.main, the main actor,
// Foundation's RunLoop and Timer, and shutting down with tasks asleep.
//
// Run: swift run main-thread <case>, where <case> is one of
//   dispatch  DispatchQueue.main.async / asyncAfter from every kind of thread
//   actor     @MainActor tasks and MainActor.run
//   runloop   a Timer on RunLoop.main: not served by itself, served while pumped
//   sleepers  the entry point returns while tasks sleep for an hour
// Each line says where a block ran: the reactor, whether that is the main
// thread, and whether it was isolated to the main actor.
import CLibUring
import Dispatch
import Foundation
import Glibc
import Synchronization
import UringReactor

@main
struct MainThreadExample: UringReactorMain {
  static var reactorConfiguration: ReactorRuntime.Configuration {
    ReactorRuntime.Configuration(reactorCount: 2)
  }

  static func reactorMain() async throws {
    let name = CommandLine.arguments.dropFirst().first ?? "dispatch"
    switch name {
    case "dispatch": await dispatchMain()
    case "actor": await mainActor()
    case "runloop": await runLoop()
    case "sleepers": await sleepers()
    default:
      print("unknown case \(name): dispatch, actor, runloop or sleepers")
      exit(2)
    }
    print("done: \(name)")
  }

  /// `DispatchQueue.main` blocks posted from a reactor thread, from the main
  /// actor, from a Dispatch thread, and with a delay, all run on the main
  /// thread, isolated to the main actor; many run in the order posted.
  static func dispatchMain() async {
    await withCheckedContinuation { done in
      DispatchQueue.main.async {
        report("main.async from a task")
        done.resume()
      }
    }
    await postFromMainActor()
    await withCheckedContinuation { done in
      DispatchQueue.global().async {
        DispatchQueue.main.async {
          report("main.async from a Dispatch thread")
          done.resume()
        }
      }
    }
    await withCheckedContinuation { done in
      DispatchQueue.main.asyncAfter(deadline: .now() + .milliseconds(5)) {
        report("main.asyncAfter")
        done.resume()
      }
    }
    let order = Order()
    await withCheckedContinuation { done in
      for index in 0..<100 {
        DispatchQueue.main.async {
          if order.append(index) == 100 { done.resume() }
        }
      }
    }
    print("main.async order kept: \(order.items == Array(0..<100))")
  }

  @MainActor
  static func postFromMainActor() async {
    await withCheckedContinuation { done in
      DispatchQueue.main.async {
        report("main.async from the main actor")
        done.resume()
      }
    }
  }

  /// Main actor code runs on the main thread, on reactor 0.
  static func mainActor() async {
    await Task { @MainActor in
      MainActor.assertIsolated()
      report("Task { @MainActor }")
    }.value
    await MainActor.run { report("MainActor.run") }
    await onMainActorAfterSleep()
  }

  @MainActor
  static func onMainActorAfterSleep() async {
    try? await Task.sleep(for: .milliseconds(1))
    report("@MainActor after Task.sleep")
  }

  /// Foundation's run loops are not driven by the reactors: a `Timer`
  /// scheduled on `RunLoop.main` fires only while the program runs that run
  /// loop, which blocks reactor 0 (and the main actor) for that long.
  @MainActor
  static func runLoop() async {
    let fired = Flag()
    let timer = scheduleTimer(setting: fired)
    // The main actor goes on serving tasks; the timer is long due meanwhile.
    try? await Task.sleep(for: .milliseconds(50))
    print("timer fired by itself: \(fired.isSet)")
    pumpRunLoop(until: fired)
    print("timer fired while RunLoop.main ran: \(fired.isSet)")
    timer.invalidate()
  }

  /// What a program ported from Darwin does (Foundation refuses it in async code).
  @MainActor
  static func scheduleTimer(setting fired: Flag) -> Timer {
    ignoringLeaks {
      Timer.scheduledTimer(withTimeInterval: 0.001, repeats: false) { _ in
        fired.set()
        report("Timer block")
      }
    }
  }

  /// Runs `RunLoop.main` from the main actor until `fired` is set: it serves
  /// its timers meanwhile, and reactor 0 runs nothing else.
  @MainActor
  static func pumpRunLoop(until fired: Flag) {
    while !fired.isSet {
      _ = RunLoop.main.run(mode: .default, before: Date(timeIntervalSinceNow: 0.05))
    }
  }

  /// The entry point returns while tasks sleep for an hour: the process
  /// exits at once; shutdown ends their sleeps early (they return).
  static func sleepers() async {
    let (asleep, sleeping) = AsyncStream.makeStream(of: Void.self)
    let count = 4
    for index in 0..<count {
      Task {
        // Task.sleep schedules its wake-up in this same job: once `asleep`
        // has been told, the reactor has the sleep before any shutdown.
        sleeping.yield()
        do {
          try await Task.sleep(for: .seconds(3600))
          print("sleeper \(index) returned early")
        } catch {
          print("sleeper \(index) threw \(error)")
        }
      }
    }
    var started = 0
    for await _ in asleep {
      started += 1
      if started == count { break }
    }
    print("entry point returns with \(count) tasks asleep")
  }
}

/// Runs `body` with LeakSanitizer (if the program was built with it) told
/// to ignore what it allocates: swift-corelibs-foundation's `Timer` is never
/// freed (it and its `CFRunLoopTimer` keep each other alive, invalidated or
/// not), which the tests' AddressSanitizer run would report.
func ignoringLeaks<T>(_ body: () -> T) -> T {
  typealias Toggle = @convention(c) () -> Void
  let program = unsafe dlopen(nil, RTLD_NOW)
  defer { _ = unsafe program.map { unsafe dlclose($0) } }
  guard let disable = unsafe dlsym(program, "__lsan_disable"),
    let enable = unsafe dlsym(program, "__lsan_enable")
  else { return body() }
  unsafe unsafeBitCast(disable, to: Toggle.self)()
  defer { unsafe unsafeBitCast(enable, to: Toggle.self)() }
  return body()
}

/// Numbers appended from any thread.
final class Order: Sendable {
  private let list = Mutex<[Int]>([])
  var items: [Int] { list.withLock { $0 } }
  /// Appends `item`; returns the new count.
  func append(_ item: Int) -> Int {
    list.withLock {
      $0.append(item)
      return $0.count
    }
  }
}

/// A flag any thread may set.
final class Flag: Sendable {
  private let value = Atomic(false)
  var isSet: Bool { value.load(ordering: .acquiring) }
  func set() { value.store(true, ordering: .releasing) }
}

/// Prints where the caller runs.
func report(_ context: String) {
  let mainThread = clu_gettid() == getpid() ? "yes" : "no"
  let isolated = MainActor.assumeIsolated { true }
  print(
    "context=\(context) | reactor=\(Reactor.current?.name ?? "none") | main-thread=\(mainThread)"
      + " | main-actor=\(isolated ? "yes" : "no")")
}
