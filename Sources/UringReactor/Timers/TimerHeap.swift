/// The pending delayed jobs of one clock (or the deadlines of waits,
/// ``WaitExpiry``): a binary min-heap on (deadline, sequence), so jobs due at
/// the same nanosecond run in the order they were scheduled. The heap holds
/// small plain nodes (what comparisons touch); the jobs live in a slab, so an
/// entry can be removed from the middle (a cancelled sleep) in O(log n)
/// through the id ``insert(_:deadline:sequence:sleeper:)`` returned.
/// Everything here is plain data: no reference counting while sifting.
///
/// Loop thread only.
struct TimerHeap<Job> {
  struct Entry {
    /// Nanoseconds since the clock's epoch, rounded up.
    var deadline: Int64
    /// What runs when the deadline has passed.
    var job: Job
    /// The identity of the task that scheduled it (0: none).
    var sleeper: UInt
  }

  private struct Node {
    var deadline: Int64
    /// Tie-breaker: scheduling order.
    var sequence: UInt64
    var id: Int32
  }

  private struct Slot {
    var job: Job?
    var sleeper: UInt = 0
    /// Index in `heap` while occupied; next free slot otherwise.
    var link: Int32
  }

  private var slots: [Slot] = []
  private var freeHead: Int32 = -1
  private var heap: [Node] = []

  var count: Int { heap.count }

  /// The earliest deadline, if any.
  var earliest: Int64? { heap.first?.deadline }

  /// Adds a job; returns its id (valid until it is popped or removed).
  mutating func insert(
    _ job: Job, deadline: Int64, sequence: UInt64, sleeper: UInt
  ) -> Int32 {
    let slot = Slot(job: job, sleeper: sleeper, link: Int32(heap.count))
    let id: Int32
    if freeHead >= 0 {
      id = freeHead
      freeHead = slots[Int(id)].link
      slots[Int(id)] = slot
    } else {
      id = Int32(slots.count)
      slots.append(slot)
    }
    heap.append(Node(deadline: deadline, sequence: sequence, id: id))
    siftUp(heap.count - 1)
    return id
  }

  /// The job of entry `id`, `nil` if that slot is free (ids are reused).
  func job(_ id: Int32) -> Job? {
    id >= 0 && Int(id) < slots.count ? slots[Int(id)].job : nil
  }

  /// Removes and returns the entry `id`.
  mutating func remove(_ id: Int32) -> Entry {
    let position = Int(slots[Int(id)].link)
    let deadline = heap[position].deadline
    let last = heap.removeLast()
    if position < heap.count {
      heap[position] = last
      slots[Int(last.id)].link = Int32(position)
      siftDown(position)
      siftUp(position)
    }
    let slot = slots[Int(id)]
    slots[Int(id)] = Slot(job: nil, link: freeHead)
    freeHead = id
    return Entry(deadline: deadline, job: slot.job!, sleeper: slot.sleeper)
  }

  /// Removes and returns the earliest entry (and its id) if its deadline is
  /// at or before `now`.
  mutating func popDue(now: Int64) -> (id: Int32, entry: Entry)? {
    guard let first = heap.first, first.deadline <= now else { return nil }
    return (first.id, remove(first.id))
  }

  /// Removes and returns every entry, earliest first.
  mutating func removeAll() -> [Entry] {
    var entries: [Entry] = []
    entries.reserveCapacity(heap.count)
    while let first = heap.first { entries.append(remove(first.id)) }
    return entries
  }

  @inline(__always)
  private static func precedes(_ lhs: Node, _ rhs: Node) -> Bool {
    lhs.deadline < rhs.deadline || (lhs.deadline == rhs.deadline && lhs.sequence < rhs.sequence)
  }

  @inline(__always)
  private mutating func place(_ node: Node, at position: Int) {
    heap[position] = node
    slots[Int(node.id)].link = Int32(position)
  }

  private mutating func siftUp(_ start: Int) {
    var position = start
    let node = heap[position]
    while position > 0 {
      let parent = (position - 1) / 2
      guard Self.precedes(node, heap[parent]) else { break }
      place(heap[parent], at: position)
      position = parent
    }
    place(node, at: position)
  }

  private mutating func siftDown(_ start: Int) {
    var position = start
    let node = heap[position]
    while true {
      let left = 2 * position + 1
      guard left < heap.count else { break }
      let right = left + 1
      let child = right < heap.count && Self.precedes(heap[right], heap[left]) ? right : left
      guard Self.precedes(heap[child], node) else { break }
      place(heap[child], at: position)
      position = child
    }
    place(node, at: position)
  }
}
