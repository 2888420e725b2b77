public import Uring

/// How to build a ``Reactor``.
public struct ReactorOptions: Sendable, Hashable {
  /// The ring's set-up. Defaults: SQ 256, CQ 4096, `SINGLE_ISSUER` +
  /// `DEFER_TASKRUN`, registered ring fd, no `SQPOLL`.
  public var ring = RingOptions()
  /// The loop thread's name (at most 15 bytes are kept).
  public var name = "uring-reactor"
  /// Pins the loop thread to this CPU (`pthread_setaffinity_np`); `nil`
  /// (default) leaves it to the scheduler. A CPU outside the process's
  /// affinity mask is ignored.
  public var cpu: Int? = nil
  /// Receives the reactor's set-up facts and warnings
  /// (``ReactorDiagnostic``); `nil` (default): nobody is told. The
  /// `UringReactorLogging` product adapts a swift-log `Logger` to it.
  public var diagnostics: ReactorDiagnostics? = nil

  public init() {}
}
