/// A byte range of some ``BackingMemory``: `length` bytes from `offset`.
///
/// Vectored operations (`IORING_OP_READV`, `IORING_OP_WRITEV`) take a list of
/// regions of one memory object; each becomes one `iovec`. Regions are
/// validated against the memory's size before anything reaches the kernel
/// (``MemoryRegionError``).
public struct MemoryRegion: Sendable, Hashable, CustomStringConvertible {
  /// Where the region starts, in bytes from the start of the memory.
  public var offset: Int
  /// How many bytes it covers (0 is allowed: an empty `iovec`).
  public var length: Int

  /// The region of `length` bytes from `offset`. Not checked here: a vectored
  /// operation checks it against its memory.
  public init(offset: Int, length: Int) {
    self.offset = offset
    self.length = length
  }

  /// The region covering `range`.
  public init(_ range: Range<Int>) {
    self.init(offset: range.lowerBound, length: range.count)
  }

  /// The bytes it covers, as a range; `nil` if its offset or length is
  /// negative or its end overflows.
  public var range: Range<Int>? {
    guard offset >= 0, length >= 0 else { return nil }
    let (end, overflow) = offset.addingReportingOverflow(length)
    return overflow ? nil : offset..<end
  }

  /// `[offset, +length)`.
  public var description: String { "[\(offset), +\(length))" }

  /// The most regions one vectored operation may carry (the kernel's
  /// `UIO_MAXIOV`).
  public static let maximumCount = 1024

  /// Checks `regions` for a vectored operation on memory of `size` bytes.
  ///
  /// - Parameters:
  ///   - regions: the regions, in the order of the operation.
  ///   - size: the bytes of the memory they are in.
  ///   - forKernelWrites: the kernel writes the regions (a read from a file or
  ///     socket): overlapping regions are refused too, since the bytes read
  ///     into the overlap would depend on the kernel's order.
  /// - Throws: ``MemoryRegionError`` naming the first offending region.
  ///
  /// Vectored operations call this themselves; it is public so that callers
  /// can check a list once and reuse it.
  public static func validate(
    _ regions: [MemoryRegion], memorySize size: Int, forKernelWrites: Bool
  ) throws(MemoryRegionError) {
    guard !regions.isEmpty else { throw MemoryRegionError(.noRegions, memorySize: size) }
    guard regions.count <= maximumCount else {
      throw MemoryRegionError(
        .tooManyRegions(count: regions.count, limit: maximumCount), memorySize: size)
    }
    var total = 0
    for (index, region) in regions.enumerated() {
      guard let range = region.range else {
        throw MemoryRegionError(.invalid(index: index, region: region), memorySize: size)
      }
      guard range.upperBound <= size else {
        throw MemoryRegionError(.outOfBounds(index: index, region: region), memorySize: size)
      }
      total += range.count
      guard total <= Int(Int32.max) else {
        throw MemoryRegionError(.totalTooLarge(index: index), memorySize: size)
      }
    }
    guard forKernelWrites else { return }
    let sorted = regions.enumerated().filter { $0.element.length > 0 }
      .sorted { $0.element.offset < $1.element.offset }
    for (previous, next) in zip(sorted, sorted.dropFirst())
    where previous.element.offset + previous.element.length > next.element.offset {
      throw MemoryRegionError(
        .overlapping(
          first: min(previous.offset, next.offset), second: max(previous.offset, next.offset)),
        memorySize: size)
    }
  }
}

/// A list of ``MemoryRegion``s that cannot be used with its memory. Nothing
/// was submitted.
public struct MemoryRegionError: Error, Sendable, Hashable, CustomStringConvertible {
  /// What is wrong with the regions.
  public enum Kind: Sendable, Hashable {
    /// The list is empty.
    case noRegions
    /// More regions than the kernel takes in one operation.
    case tooManyRegions(count: Int, limit: Int)
    /// The region at `index` has a negative offset or length, or its end overflows.
    case invalid(index: Int, region: MemoryRegion)
    /// The region at `index` ends past the end of the memory.
    case outOfBounds(index: Int, region: MemoryRegion)
    /// The regions up to `index` add up to more than `Int32.max` bytes (an
    /// operation's result could not report them).
    case totalTooLarge(index: Int)
    /// The regions at these indices overlap, and the kernel would write both.
    case overlapping(first: Int, second: Int)
  }

  /// What is wrong with the regions.
  public var kind: Kind
  /// The size of the memory the regions were checked against.
  public var memorySize: Int

  /// An error of `kind` about memory of `memorySize` bytes.
  public init(_ kind: Kind, memorySize: Int) {
    self.kind = kind
    self.memorySize = memorySize
  }

  /// The problem in one sentence, naming the offending region.
  public var description: String {
    switch kind {
    case .noRegions:
      "no memory regions given"
    case .tooManyRegions(let count, let limit):
      "\(count) memory regions given; at most \(limit) per operation"
    case .invalid(let index, let region):
      "memory region \(index) \(region) has a negative offset or length"
    case .outOfBounds(let index, let region):
      "memory region \(index) \(region) ends past the memory's \(memorySize) bytes"
    case .totalTooLarge(let index):
      "memory regions 0...\(index) add up to more than \(Int32.max) bytes"
    case .overlapping(let first, let second):
      "memory regions \(first) and \(second) overlap, and the kernel would write both"
    }
  }
}
