/// The reads of a ``ChunkReader`` in the order they are handed out (what
/// it keeps of each is a ``ChunkReader/Pending``): a ring of slots, so that
/// taking the first read, appending the next one and finding the read a CQE
/// belongs to cost no copying of the others (an array's `removeFirst` moved
/// every read behind it, `depth` of them, for each chunk).
///
/// Thread-safety: none; the reader uses it on the loop thread only.
struct ReadQueue<Element> {
  private var slots: [Element?]
  /// The slot of the first element.
  private var head = 0
  private(set) var count = 0
  /// The slot of the last element `firstPosition(where:)` found: reads
  /// mostly complete in the order they were issued, so the next search
  /// starts right after it.
  private var lastFound = 0

  init(capacity: Int) {
    slots = Array(repeating: nil, count: max(1, capacity))
  }

  var isEmpty: Bool { count == 0 }

  var first: Element? { count == 0 ? nil : slots[head] }

  /// The element at `position` (0: the first).
  subscript(position: Int) -> Element {
    get { slots[slot(position)]! }
    _modify { yield &slots[slot(position)]! }
  }

  mutating func append(_ element: Element) {
    if count == slots.count { grow() }
    slots[slot(count)] = element
    count += 1
  }

  /// Puts `element` before the first.
  mutating func prepend(_ element: Element) {
    if count == slots.count { grow() }
    head = head == 0 ? slots.count - 1 : head - 1
    slots[head] = element
    count += 1
  }

  mutating func removeFirst() -> Element {
    precondition(count > 0, "removeFirst on an empty ReadQueue")
    let element = slots[head].take()!
    head = slot(1)
    count -= 1
    return element
  }

  /// The position of the first element, scanning from the one after the
  /// element last found (wrapping round), that satisfies `predicate`.
  mutating func firstPosition(where predicate: (Element) -> Bool) -> Int? {
    guard count > 0 else { return nil }
    var start = lastFound - head + 1
    if start < 0 { start += slots.count }
    if start >= count { start = 0 }
    var position = start
    repeat {
      let index = slot(position)
      if predicate(slots[index]!) {
        lastFound = index
        return position
      }
      position += 1
      if position == count { position = 0 }
    } while position != start
    return nil
  }

  /// Removes the elements that satisfy `predicate`, keeping the others in
  /// order.
  mutating func removeAll(where predicate: (Element) -> Bool) {
    var kept: [Element?] = []
    kept.reserveCapacity(slots.count)
    for position in 0..<count {
      let element = slots[slot(position)].take()!
      if !predicate(element) { kept.append(element) }
    }
    count = kept.count
    kept += Array(repeating: nil, count: slots.count - kept.count)
    slots = kept
    head = 0
  }

  private func slot(_ position: Int) -> Int {
    let index = head + position
    return index < slots.count ? index : index - slots.count
  }

  /// Twice the slots, the elements first to last from slot 0.
  private mutating func grow() {
    var larger: [Element?] = []
    larger.reserveCapacity(2 * slots.count)
    for position in 0..<count { larger.append(slots[slot(position)].take()) }
    larger += Array(repeating: nil, count: 2 * slots.count - count)
    slots = larger
    head = 0
    lastFound = 0
  }
}

extension ChunkReader {
  /// One read of a stream, from its start until it is handed out.
  struct Pending {
    var offset: UInt64?
    var length: Int
    var storage: ChunkStorage
    var state: ReadState

    /// The read's slot, while it is in flight.
    var userData: UInt64? {
      if case .inFlight(let userData) = state { userData } else { nil }
    }
  }

  /// Where a read stands.
  enum ReadState {
    /// Submitted; its final CQE has not come yet (the slot retains the
    /// buffer and the file until it does).
    case inFlight(userData: UInt64)
    /// Its CQE came (the byte count, or the error it ended with), or it was
    /// refused before reaching the kernel (the error saying why). Either way
    /// it is handed out, or thrown, in its turn.
    case done(Result<Int32, IOError>)
  }
}
