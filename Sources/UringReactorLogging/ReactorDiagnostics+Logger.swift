#if Logging
  public import Logging
  public import UringReactor

  extension ReactorDiagnostics {
    /// Reports a reactor's diagnostics to `logger`: the ring's set-up (sizes,
    /// applied flags, kernel features) at `setUpLevel`, every refused ring
    /// flag (`SQPOLL`, `COOP_TASKRUN`, `SINGLE_ISSUER`... the reactor fell
    /// back to running without it) at `.warning`, and the last counters when
    /// the reactor stops at `.debug`. Each message carries the reactor's
    /// name as `reactor` metadata.
    ///
    /// ```swift
    /// var options = ReactorOptions()
    /// options.diagnostics = .logging(to: Logger(label: "uring"))
    /// let group = try ReactorGroup(options: options)
    /// ```
    ///
    /// Thread-safety: `Logger` is `Sendable`; messages are logged from the
    /// thread that creates the reactor and from its loop thread.
    public static func logging(to logger: Logger, setUpLevel: Logger.Level = .info) -> Self {
      ReactorDiagnostics { diagnostic in
        logger.log(
          level: level(of: diagnostic, setUpLevel: setUpLevel), "\(message(diagnostic))",
          metadata: metadata(of: diagnostic))
      }
    }

    static func level(of diagnostic: ReactorDiagnostic, setUpLevel: Logger.Level)
      -> Logger.Level
    {
      switch diagnostic {
      case .ringReady: setUpLevel
      case .flagRefused: .warning
      case .stopped: .debug
      }
    }

    static func message(_ diagnostic: ReactorDiagnostic) -> String {
      switch diagnostic {
      case .ringReady: "io_uring ready"
      case .flagRefused(_, let flag): "io_uring refused \(flag); running without it"
      case .stopped: "reactor stopped"
      }
    }

    static func metadata(of diagnostic: ReactorDiagnostic) -> Logger.Metadata {
      var metadata: Logger.Metadata = ["reactor": "\(diagnostic.reactor)"]
      switch diagnostic {
      case .ringReady(_, let setup, let features):
        metadata["ring"] = "\(setup)"
        metadata["features"] = "\(features)"
      case .flagRefused(_, let flag):
        metadata["flag"] = "\(flag)"
      case .stopped(_, let statistics):
        metadata["operations"] = "\(statistics.operationsCompleted)"
        metadata["iterations"] = "\(statistics.loopIterations)"
        metadata["cq_overflows"] = "\(statistics.completionQueueOverflows)"
      }
      return metadata
    }
  }
#endif
