/// Sleeping task identity -> where its wake-up job waits: an open-addressing
/// hash table (linear probing, backward-shift deletion) of plain values, with
/// a multiplicative hash: cheaper than `Dictionary` (SipHash) on the path every
/// `Task.sleep` takes twice.
///
/// Loop thread only.
struct SleeperTable {
  struct Location: Equatable {
    var clock: TimerClock
    var id: Int32
  }

  private struct Bucket {
    /// 0: empty (task addresses are never 0).
    var key: UInt = 0
    var location = Location(clock: .continuous, id: -1)
  }

  private var buckets = [Bucket](repeating: Bucket(), count: 64)
  private(set) var count = 0

  var isEmpty: Bool { count == 0 }

  @inline(__always)
  private func home(_ key: UInt) -> Int {
    // Task addresses are 16-byte aligned: drop those bits, then mix.
    let mixed = (UInt64(key) >> 4) &* 0x9E37_79B9_7F4A_7C15
    return Int(truncatingIfNeeded: mixed >> 32) & (buckets.count - 1)
  }

  func location(_ key: UInt) -> Location? {
    var index = home(key)
    while true {
      let bucket = buckets[index]
      if bucket.key == key { return bucket.location }
      if bucket.key == 0 { return nil }
      index = (index + 1) & (buckets.count - 1)
    }
  }

  mutating func set(_ key: UInt, _ location: Location) {
    if (count + 1) * 4 > buckets.count * 3 { grow() }
    var index = home(key)
    while buckets[index].key != 0 && buckets[index].key != key {
      index = (index + 1) & (buckets.count - 1)
    }
    if buckets[index].key == 0 { count += 1 }
    buckets[index] = Bucket(key: key, location: location)
  }

  mutating func remove(_ key: UInt) {
    let mask = buckets.count - 1
    var index = home(key)
    while buckets[index].key != key {
      if buckets[index].key == 0 { return }
      index = (index + 1) & mask
    }
    // Backward shift: move later members of the probe run into the hole.
    var hole = index
    var next = (hole + 1) & mask
    while buckets[next].key != 0 {
      let wanted = home(buckets[next].key)
      // Move it if its home is not in the cyclic range (hole, next].
      let distanceToNext = (next - wanted) & mask
      let distanceToHole = (hole - wanted) & mask
      if distanceToHole < distanceToNext {
        buckets[hole] = buckets[next]
        hole = next
      }
      next = (next + 1) & mask
    }
    buckets[hole] = Bucket()
    count -= 1
  }

  mutating func removeAll() {
    buckets = [Bucket](repeating: Bucket(), count: 64)
    count = 0
  }

  private mutating func grow() {
    let old = buckets
    buckets = [Bucket](repeating: Bucket(), count: old.count * 2)
    count = 0
    for bucket in old where bucket.key != 0 { set(bucket.key, bucket.location) }
  }
}
