public import Uring

/// A fact a reactor reports about itself (``ReactorDiagnostics``).
public enum ReactorDiagnostic: Sendable, Hashable {
  /// The ring is ready: what it applied (sizes, flags) and what the kernel
  /// offers. Reported once per reactor, before it runs any job.
  case ringReady(reactor: String, setup: RingSetup, features: RingFeatures)
  /// A ring flag that was asked for was refused by the kernel and the
  /// ring was made without it (e.g. `SQPOLL` without the privilege,
  /// `COOP_TASKRUN`, `SINGLE_ISSUER` on an old kernel): the reactor works,
  /// perhaps more slowly. Reported once per refused flag, after
  /// ``ringReady(reactor:setup:features:)``.
  case flagRefused(reactor: String, flag: String)
  /// The reactor's loop has ended (after ``Reactor/shutdown()``), with its
  /// last counters.
  case stopped(reactor: String, statistics: ReactorStatistics)

  /// Whether the fact is a warning (something asked for is missing) rather
  /// than information.
  public var isWarning: Bool {
    if case .flagRefused = self { return true }
    return false
  }

  /// The reactor's name (``ReactorOptions/name``).
  public var reactor: String {
    switch self {
    case .ringReady(let name, _, _), .flagRefused(let name, _), .stopped(let name, _): name
    }
  }
}

/// Where a reactor reports its ``ReactorDiagnostic``s
/// (``ReactorOptions/diagnostics``): a hook with no dependency, which the
/// `UringReactorLogging` product connects to swift-log.
///
/// - Thread-safety: `report` is called on the thread that creates the
///   reactor (set-up facts) or on the loop thread (``ReactorDiagnostic/stopped(reactor:statistics:)``),
///   never concurrently for one reactor; for a group, from each reactor.
///   Keep it short and non-blocking: it runs before the loop goes on.
/// - Equality: two values are equal when made by the same `init` call (the
///   closure cannot be compared), so ``ReactorOptions`` stays `Hashable`.
public struct ReactorDiagnostics: Sendable, Hashable {
  private final class Box: Sendable {
    let report: @Sendable (ReactorDiagnostic) -> Void
    init(_ report: @escaping @Sendable (ReactorDiagnostic) -> Void) { self.report = report }
  }
  private let box: Box

  /// Reports every diagnostic to `report`.
  public init(_ report: @escaping @Sendable (ReactorDiagnostic) -> Void) {
    box = Box(report)
  }

  /// Reports `diagnostic`.
  public func report(_ diagnostic: ReactorDiagnostic) { box.report(diagnostic) }

  public static func == (lhs: Self, rhs: Self) -> Bool { lhs.box === rhs.box }
  public func hash(into hasher: inout Hasher) { hasher.combine(ObjectIdentifier(box)) }

  /// Reports the set-up facts of a new reactor.
  func reportSetUp(of loop: EventLoop) {
    report(.ringReady(reactor: loop.name, setup: loop.setup, features: loop.features))
    for flag in loop.setup.refused { report(.flagRefused(reactor: loop.name, flag: flag)) }
  }
}
