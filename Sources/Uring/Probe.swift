import CLibUring

/// What the running kernel's io_uring supports: opcodes and setup features.
///
/// Get one from ``Ring/probe()`` or, without a ring of your own, ``Probe/current()``.
public struct Probe: Sendable, Hashable {
  private var bits: (UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0)
  /// The highest opcode the kernel knows.
  public private(set) var lastOpcode: UInt8 = 0

  init(_ probe: UnsafePointer<io_uring_probe>) {
    lastOpcode = unsafe probe.pointee.last_op
    // SAFETY: `ops` is a flexible array of `ops_len` entries that
    // io_uring_get_probe_ring allocated together with the header.
    let ops = unsafe UnsafeRawPointer(probe).advanced(by: MemoryLayout<io_uring_probe>.size)
      .assumingMemoryBound(to: io_uring_probe_op.self)
    for index in unsafe 0..<Int(probe.pointee.ops_len) {
      let op = unsafe ops[index]
      if op.flags & UInt16(IO_URING_OP_SUPPORTED) != 0 { insert(op.op) }
    }
  }

  public static func == (lhs: Probe, rhs: Probe) -> Bool {
    lhs.bits == rhs.bits && lhs.lastOpcode == rhs.lastOpcode
  }

  public func hash(into hasher: inout Hasher) {
    hasher.combine(bits.0)
    hasher.combine(bits.1)
    hasher.combine(bits.2)
    hasher.combine(bits.3)
  }

  private mutating func insert(_ op: UInt8) {
    let mask = UInt64(1) << UInt64(op % 64)
    switch op / 64 {
    case 0: bits.0 |= mask
    case 1: bits.1 |= mask
    case 2: bits.2 |= mask
    default: bits.3 |= mask
    }
  }

  /// Whether the kernel supports `opcode`.
  public func supports(_ opcode: Opcode) -> Bool {
    let op = opcode.rawValue
    let word =
      switch op / 64 {
      case 0: bits.0
      case 1: bits.1
      case 2: bits.2
      default: bits.3
      }
    return word & (UInt64(1) << UInt64(op % 64)) != 0
  }

  /// The known opcodes the kernel supports.
  public var supportedOpcodes: [Opcode] { Opcode.known.filter(supports) }

  /// Probes with a temporary ring.
  public static func current() throws(UringUnavailableError) -> Probe {
    let ring = try Ring(options: .minimal)
    return ring.probe()
  }
}

/// `IORING_FEAT_*` bits the kernel reported at setup.
public struct RingFeatures: OptionSet, Sendable, Hashable, CustomStringConvertible {
  public let rawValue: UInt32
  public init(rawValue: UInt32) { self.rawValue = rawValue }

  public static let singleMmap = RingFeatures(rawValue: UInt32(IORING_FEAT_SINGLE_MMAP))
  /// Completions are never dropped on CQ overflow (5.5+). Required.
  public static let noDrop = RingFeatures(rawValue: UInt32(IORING_FEAT_NODROP))
  public static let submitStable = RingFeatures(rawValue: UInt32(IORING_FEAT_SUBMIT_STABLE))
  public static let rwCurrentPosition = RingFeatures(rawValue: UInt32(IORING_FEAT_RW_CUR_POS))
  public static let fastPoll = RingFeatures(rawValue: UInt32(IORING_FEAT_FAST_POLL))
  public static let extendedArgument = RingFeatures(rawValue: UInt32(IORING_FEAT_EXT_ARG))
  public static let nativeWorkers = RingFeatures(rawValue: UInt32(IORING_FEAT_NATIVE_WORKERS))
  public static let resourceTags = RingFeatures(rawValue: UInt32(IORING_FEAT_RSRC_TAGS))
  public static let skipCompletionOnSuccess = RingFeatures(rawValue: UInt32(IORING_FEAT_CQE_SKIP))
  public static let linkedFile = RingFeatures(rawValue: UInt32(IORING_FEAT_LINKED_FILE))
  // Newer than the 6.1 uapi header: by value.
  public static let currentPersonality = RingFeatures(rawValue: 1 << 4)
  public static let poll32Bits = RingFeatures(rawValue: 1 << 6)
  public static let submissionQueuePollNonFixed = RingFeatures(rawValue: 1 << 7)
  public static let registeredRegisteredRing = RingFeatures(rawValue: 1 << 13)
  public static let receiveSendBundle = RingFeatures(rawValue: 1 << 14)
  public static let minimumTimeout = RingFeatures(rawValue: 1 << 15)
  public static let readWriteAttributes = RingFeatures(rawValue: 1 << 16)
  public static let noIOWait = RingFeatures(rawValue: 1 << 17)

  private static let names: [(RingFeatures, String)] = [
    (.singleMmap, "SINGLE_MMAP"), (.noDrop, "NODROP"), (.submitStable, "SUBMIT_STABLE"),
    (.rwCurrentPosition, "RW_CUR_POS"), (.fastPoll, "FAST_POLL"), (.extendedArgument, "EXT_ARG"),
    (.nativeWorkers, "NATIVE_WORKERS"), (.resourceTags, "RSRC_TAGS"),
    (.skipCompletionOnSuccess, "CQE_SKIP"), (.linkedFile, "LINKED_FILE"),
    (.currentPersonality, "CUR_PERSONALITY"), (.poll32Bits, "POLL_32BITS"),
    (.submissionQueuePollNonFixed, "SQPOLL_NONFIXED"), (.registeredRegisteredRing, "REG_REG_RING"),
    (.receiveSendBundle, "RECVSEND_BUNDLE"), (.minimumTimeout, "MIN_TIMEOUT"),
    (.readWriteAttributes, "RW_ATTR"), (.noIOWait, "NO_IOWAIT"),
  ]

  public var description: String {
    Self.names.filter { contains($0.0) }.map(\.1).joined(separator: " ")
  }
}
