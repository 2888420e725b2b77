/// The handlers one `serve` call runs, counted so that a drain can wait
/// until they have all returned or its deadline has passed.
final class ServedHandlers: Sendable {
  private struct State {
    var active = 0
    var waiter: CheckedContinuation<Void, Never>?
    var stopWaiting = false
  }
  private let state = Locked(State())

  /// A handler starts.
  func enter() { state.withLock { $0.active += 1 } }

  /// A handler returned; the last one ends a wait.
  func leave() {
    let waiter = state.withLock { state -> CheckedContinuation<Void, Never>? in
      state.active -= 1
      guard state.active == 0 else { return nil }
      defer { state.waiter = nil }
      return state.waiter
    }
    waiter?.resume()
  }

  /// Waits until every handler has returned (`true`) or `deadline` has
  /// passed or the calling task is cancelled (`false`).
  func waitUntilDone(deadline: ContinuousClock.Instant) async -> Bool {
    await withTaskGroup(of: Bool.self) { race in
      race.addTask {
        await self.allReturned()
        return !Task.isCancelled
      }
      race.addTask {
        try? await Task.sleep(until: deadline, clock: .continuous)
        return false
      }
      let first = await race.next() ?? false
      race.cancelAll()
      return first
    }
  }

  /// Returns once no handler runs, or when the task is cancelled.
  private func allReturned() async {
    await withTaskCancellationHandler {
      await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
        let resumeNow = state.withLock { state -> Bool in
          if state.active == 0 || state.stopWaiting { return true }
          state.waiter = continuation
          return false
        }
        if resumeNow { continuation.resume() }
      }
    } onCancel: {
      let waiter = state.withLock { state -> CheckedContinuation<Void, Never>? in
        state.stopWaiting = true
        defer { state.waiter = nil }
        return state.waiter
      }
      waiter?.resume()
    }
  }
}
