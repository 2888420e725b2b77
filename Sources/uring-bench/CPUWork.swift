/// CPU work the optimizer cannot remove or fold: a dependent chain of
/// splitmix64's finaliser over a seed, whose result the caller checks.
enum CPUWork {
  /// `rounds` rounds of the mixer over `seed` (~4.5 ns a round here: 640
  /// rounds take ~3 us).
  static func mix(_ seed: UInt64, rounds: Int) -> UInt64 {
    var x = seed
    for _ in 0..<rounds {
      x ^= x >> 30
      x &*= 0xBF58_476D_1CE4_E5B9
      x ^= x >> 27
      x &*= 0x94D0_49BB_1331_11EB
      x ^= x >> 31
    }
    return x
  }

  /// A seed for item `index` (never 0, which the mixer keeps at 0).
  static func seed(_ index: Int) -> UInt64 {
    UInt64(truncatingIfNeeded: index &+ 1) &* 0x9E37_79B9_7F4A_7C15
  }

  /// Mixes from `seed` without a break until `slice` has passed (the clock is
  /// read every 256 rounds, ~1 us); returns the last value.
  static func spin(for slice: Duration, from seed: UInt64) -> UInt64 {
    let clock = ContinuousClock()
    let deadline = clock.now + slice
    var x = seed
    repeat { x = mix(x, rounds: 256) } while clock.now < deadline
    return x
  }
}
