public import Uring

extension Opcode {
  /// Not an io_uring opcode: the ``IOError/operation`` of a user access to a
  /// buffer (`withBytes`, `withMutableBytes`) refused because the kernel may be
  /// using it.
  public static let bufferAccess = Opcode(rawValue: 0xFE)
}

extension IOError {
  /// A refused user access to a buffer, as an I/O error: kind
  /// ``IOError/Kind/memoryBusy(_:)``, operation `Opcode.bufferAccess`
  /// (`EBUSY`).
  public init(_ error: MemoryAccessError) {
    self.init(.memoryBusy(error), operation: .bufferAccess)
  }

  /// The refused access (``BufferAccessError/busy(_:)``) as
  /// ``init(_:)-(MemoryAccessError)``; a body that cannot throw has no other case.
  public init(_ error: BufferAccessError<Never>) {
    switch error {
    case .busy(let busy): self.init(busy)
    }
  }

  /// The refused access as ``init(_:)-(MemoryAccessError)``, or the body's own
  /// ``IOError`` unchanged (catch with `do throws(BufferAccessError<IOError>)`).
  public init(_ error: BufferAccessError<IOError>) {
    switch error {
    case .busy(let busy): self.init(busy)
    case .body(let body): self = body
    }
  }

  /// Runs a buffer access (`withBytes`, `withMutableBytes`, whose body
  /// cannot throw) and rethrows a refusal as an ``IOError``, so that it can
  /// be written where only ``IOError`` may be thrown:
  ///
  /// ```swift
  /// do throws(IOError) {
  ///   let count = try IOError.rethrowing(
  ///     buffer.withBytes { (span: RawSpan) throws(Never) in span.byteCount })
  ///   print(count)
  /// }
  /// ```
  ///
  /// Runs `body` at once, on the calling thread.
  public static func rethrowing<R>(
    _ body: @autoclosure () throws(BufferAccessError<Never>) -> R
  ) throws(IOError) -> R {
    do {
      return try body()
    } catch {
      throw IOError(error)
    }
  }
}
