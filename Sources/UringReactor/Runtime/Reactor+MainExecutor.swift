@_spi(ExperimentalCustomExecutors) public import _Concurrency

#if compiler(>=6.3)
  /// Under ``ReactorRuntime``, the first reactor of the group is the main
  /// actor's executor and its loop runs on the process's main thread.
  ///
  /// `run()` runs the loop on the calling thread until the reactor is shut
  /// down; it is only valid for that reactor (a reactor started with
  /// ``Reactor/init(options:)`` runs on its own thread and traps). `stop()`
  /// shuts the reactor down (see ``Reactor/shutdown()``), which ends `run()`.
  @_spi(ExperimentalCustomExecutors)
  extension Reactor: MainExecutor {
    public func run() throws {
      runOnCallingThread()
    }

    public func stop() {
      requestShutdown()
    }
  }

  /// What `_createExecutors(factory:)` asks for: the adopted group's first
  /// reactor as the main executor, the group as the default executor.
  struct ReactorExecutorFactory: ExecutorFactory {
    static var mainExecutor: any MainExecutor {
      ReactorRuntime.adoptedGroup!.reactors[0]
    }

    static var defaultExecutor: any TaskExecutor {
      ReactorRuntime.adoptedGroup!
    }
  }
#endif
