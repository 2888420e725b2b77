/// Memory a foreign party may still be using, but whose end of use can never
/// be observed (its eventfd could not be waited on).
///
/// It is kept, still lent (its kernel access never ends, so user access stays
/// refused), for the rest of the process: freeing it could let the device
/// write into memory reused for something else (rule 1). A deliberate,
/// bounded leak that only a misuse of the bridge causes.
///
/// Thread-safety: any thread.
enum AbandonedMemory {
  private static let kept = Locked<[any BackingMemory]>([])

  /// Keeps `memory` for good.
  static func keep(_ memory: any BackingMemory) {
    kept.withLock { $0.append(memory) }
  }

  /// How many buffers have been abandoned.
  static var count: Int { kept.withLock { $0.count } }

  /// The last one abandoned (tests).
  static var last: (any BackingMemory)? { kept.withLock { $0.last } }
}
