import SystemPackage
import Uring

/// The loop side of one ``FileSystem/readFiles(_:maximumSize:)``: starts a
/// ``SmallFileChain`` per file as direct slots are free, collects their
/// results in order, and resumes the one waiting task after the last CQE.
///
/// Thread-safety: every stored `var` is touched on the loop thread only
/// (`startMore` and `results` from the calling job or a slot's release,
/// `finished` by a chain's completion, `cancel` through `runOnLoop`).
final class SmallFileBatch: @unchecked Sendable {
  let loop: EventLoop
  let paths: [FilePath]
  let maximumSize: Int
  /// The next file to start.
  private var next = 0
  /// Chains in flight, by file (kept to cancel them), and how many.
  private var chains: [SmallFileChain?]
  private(set) var active = 0
  private var outcomes: [Result<SharedBuffer, IOError>?]
  /// The task was cancelled (or the loop stopped): start no more files.
  private var stopped: IOError.Kind?
  var waiter: LoopContinuation<Void>?

  init(loop: EventLoop, paths: [FilePath], maximumSize: Int) {
    self.loop = loop
    self.paths = paths
    self.maximumSize = maximumSize
    chains = Array(repeating: nil, count: paths.count)
    outcomes = Array(repeating: nil, count: paths.count)
  }

  /// Whether every file has its result (none in flight, none left to start).
  var isDone: Bool { active == 0 && (next == paths.count || stopped != nil) }

  /// Starts files while slots are free; waits in line for the rest. Loop
  /// thread.
  func startMore(on loop: EventLoop, slots: DirectSlotTable) {
    while next < paths.count, stopped == nil {
      guard loop.lifecycle == .running else {
        stopped = .reactorShutDown
        break
      }
      guard let slot = slots.take() else {
        slots.wait(self)
        return
      }
      let chain = SmallFileChain(
        batch: self, index: next, slot: slot, path: paths[next], capacity: maximumSize + 1)
      chains[next] = chain
      next += 1
      active += 1
      chain.start(on: loop)
    }
    resumeIfDone()
  }

  /// A chain's last CQE came: its result is kept and its slot goes back
  /// (which may start more files of this batch or of others).
  func finished(_ chain: SmallFileChain) {
    outcomes[chain.index] = chain.result(maximumSize: maximumSize)
    chains[chain.index] = nil
    active -= 1
    if case .registered(let slots) = loop.directSlots {
      slots.release(chain.slot, on: loop)
    }
    resumeIfDone()
  }

  /// The task was cancelled: no more files start; the opens and reads in
  /// flight are cancelled, and each chain still ends with its own CQEs.
  func cancel(on loop: EventLoop) {
    guard stopped == nil else { return }
    stopped = .cancelled
    for chain in chains { chain?.cancel(on: loop) }
    resumeIfDone()
  }

  private func resumeIfDone() {
    guard isDone, let waiter else { return }
    self.waiter = nil
    waiter.resume()
  }

  /// Every file's result, in order, once ``isDone``.
  func results() -> [Result<SharedBuffer, IOError>] {
    paths.indices.map { index in
      outcomes[index]
        ?? .failure(IOError(stopped ?? .cancelled, operation: .openat, path: paths[index]))
    }
  }
}
