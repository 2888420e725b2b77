import Glibc
import Uring

#if compiler(>=6.3)
  @_spi(ExperimentalCustomExecutors) import _Concurrency
#endif

/// Makes a ``ReactorGroup`` the process's executors: the default executor
/// (every task without a preference: `Task {}`, `Task.detached {}`, task
/// group children, default actors, `Task.sleep`) and the main actor's executor
/// (the group's first reactor, whose loop runs on the main thread).
///
/// Adopt it with ``UringReactorMain`` (or call ``run(_:_:)`` from a
/// *synchronous* `main`):
///
/// ```swift
/// import UringReactor
///
/// @main
/// struct Server: UringReactorMain {
///   static func reactorMain() async throws {
///     try await Task.sleep(for: .milliseconds(10))  // an io_uring timeout
///     try await Reactor.current!.nop()               // I/O on the running reactor
///   }
/// }
/// ```
///
/// How: Swift 6.3's `_createExecutors(factory:)` (SPI
/// `ExperimentalCustomExecutors`) installs the executors; it must run before
/// any concurrency is used, from a synchronous `main` (from an `async` main it
/// hangs). Then the main thread runs reactor 0's loop until the entry point
/// returns, the group is shut down and the process exits (status 0, or 1 if
/// the entry point threw). The reactors implement `SchedulingExecutor`
/// (`Task.sleep` becomes an io_uring timeout): a replacement executor that does
/// not would make `Task.sleep` crash.
///
/// The main thread:
/// - `@MainActor` code runs on reactor 0, on the main thread.
/// - `DispatchQueue.main` is drained by reactor 0: its blocks run on the main
///   thread, isolated to the main actor, in the order posted. The loop polls
///   libdispatch's main-queue eventfd on its ring (the hook Foundation's
///   run loop uses) and runs the waiting blocks as a main actor job.
/// - Foundation's run loops are *not* driven by the reactors (this library
///   does not use Foundation). A `Timer` scheduled on `RunLoop.main` fires
///   only while the program runs `RunLoop.main` itself, and running it from
///   the main actor (`RunLoop.main.run(...)`) blocks reactor 0 and the main
///   actor for that long; `RunLoop.main.run()` blocks them for good. Use
///   `Task.sleep` in a task for timers, or give Foundation run-loop code a
///   thread of its own (`Thread { RunLoop.current.run() }`).
///
/// Shutdown: when the entry point returns, tasks still sleeping do not hold
/// the exit up; their sleeps return early (see ``Reactor/shutdown()``).
///
/// Toolchains: the SPI is Swift 6.3's. With an older compiler the adoption
/// code is not built and ``run(_:_:)`` stops the process with instructions;
/// a newer toolchain that changed the SPI fails to compile
/// `Sources/UringReactor/Runtime/` (see README, "Adopting the reactor globally").
public enum ReactorRuntime {
  /// How to build the adopted group.
  public struct Configuration: Sendable {
    /// Reactors (default: one per usable CPU). Reactor 0 runs on the main thread.
    public var reactorCount: Int?
    public var pinning: ReactorGroup.Pinning
    /// Threads of the group's offload pool.
    public var offloadThreads: Int
    /// Options of every reactor; reactor `i` is named `"\(options.name)-\(i)"`.
    public var options: ReactorOptions

    public init(
      reactorCount: Int? = nil, pinning: ReactorGroup.Pinning = .none, offloadThreads: Int = 2,
      options: ReactorOptions = ReactorRuntime.defaultOptions
    ) {
      self.reactorCount = reactorCount
      self.pinning = pinning
      self.offloadThreads = offloadThreads
      self.options = options
    }
  }

  /// Reactor options whose threads are named `uring-<index>`.
  public static var defaultOptions: ReactorOptions {
    var options = ReactorOptions()
    options.name = "uring"
    return options
  }

  private static let adopted = Locked<ReactorGroup?>(nil)

  /// The group adopted by ``run(_:_:)``, or `nil` before.
  public static var group: ReactorGroup? { adopted.withLock { $0 } }

  static var adoptedGroup: ReactorGroup? { group }

  /// Adopts a new ``ReactorGroup`` as the default and main executors, runs
  /// `body` in a task on it, and exits when `body` returns.
  ///
  /// Call it once, first thing, from a synchronous `main` (``UringReactorMain``
  /// does). It never returns: the calling (main) thread runs reactor 0's loop.
  /// When `body` returns (or throws: the error is printed to standard error
  /// and the status is 1), reactor 0 and then the whole group are shut down
  /// and the process exits.
  public static func run(
    _ configuration: Configuration = Configuration(),
    _ body: @escaping @Sendable () async throws -> Void
  ) -> Never {
    #if compiler(>=6.3)
      let group: ReactorGroup
      do throws(UringUnavailableError) {
        group = try ReactorGroup(
          reactorCount: configuration.reactorCount, pinning: configuration.pinning,
          offloadThreads: configuration.offloadThreads, options: configuration.options,
          firstOnCallingThread: true)
      } catch {
        printToStandardError("UringReactor: cannot start the reactors: \(error)")
        exit(1)
      }
      adopted.withLock { adopted in
        precondition(adopted == nil, "ReactorRuntime.run was called twice")
        adopted = group
      }
      _createExecutors(factory: ReactorExecutorFactory.self)
      // DispatchQueue.main: its blocks run on the main actor (reactor 0).
      let mainLoop = group.reactors[0].loop
      Task { @MainActor in MainQueueDrain.start(on: mainLoop) }
      let status = Locked<Int32>(0)
      Task {
        do {
          try await body()
        } catch {
          printToStandardError("Error: \(error)")
          status.withLock { $0 = 1 }
        }
        group.reactors[0].requestShutdown()
      }
      group.runFirstOnCallingThread()
      group.shutdownBlocking()
      exit(status.withLock { $0 })
    #else
      fatalError(
        """
        UringReactor: adopting the reactors as the global and main executors needs \
        Swift 6.3's `_createExecutors(factory:)` (SPI ExperimentalCustomExecutors), which \
        this toolchain lacks. Build with Swift 6.3 or newer, or keep Swift's executors and \
        run I/O-heavy tasks on a reactor with Task(executorPreference:) / \
        withTaskExecutorPreference.
        """)
    #endif
  }
}

/// A program whose tasks all run on io_uring reactors: declare it `@main` and
/// implement ``reactorMain()``. Its synchronous `main()` calls
/// ``ReactorRuntime/run(_:_:)`` with ``reactorConfiguration``.
public protocol UringReactorMain: SendableMetatype {
  /// The group to adopt (default: one reactor per usable CPU).
  static var reactorConfiguration: ReactorRuntime.Configuration { get }
  /// The program, run in a task on the adopted group.
  static func reactorMain() async throws
}

extension UringReactorMain {
  public static var reactorConfiguration: ReactorRuntime.Configuration {
    ReactorRuntime.Configuration()
  }

  /// The synchronous entry point `@main` calls: adopts the reactors, runs
  /// ``reactorMain()``, exits.
  public static func main() {
    ReactorRuntime.run(reactorConfiguration) { try await reactorMain() }
  }
}

/// Writes `line` and a newline to standard error (fd 2).
func printToStandardError(_ line: String) {
  let text = line + "\n"
  _ = unsafe text.utf8CString.withUnsafeBufferPointer {
    unsafe write(2, $0.baseAddress, $0.count - 1)
  }
}
