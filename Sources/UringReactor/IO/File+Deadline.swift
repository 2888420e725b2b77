extension File {
  /// ``read(into:at:)`` due by `deadline`: the read is linked to an
  /// `IORING_OP_LINK_TIMEOUT`. If the deadline passes first, the kernel cancels
  /// the read and this throws ``IOError/Kind/timedOut``; the buffer stays lent
  /// to the kernel (user access refused) until the read's own CQE, like any
  /// cancelled read. Task cancellation still wins with ``IOError/Kind/cancelled``.
  public func read(
    into buffer: SharedBuffer, at offset: UInt64? = nil, deadline: ContinuousClock.Instant
  ) async throws(IOError) -> Int {
    try await IODeadline.withDeadline(deadline) { () async throws(IOError) -> Int in
      try await self.read(into: buffer, at: offset)
    }
  }

  /// ``read(into:at:)`` due within `timeout` from now; see
  /// ``read(into:at:deadline:)``.
  public func read(
    into buffer: SharedBuffer, at offset: UInt64? = nil, timeout: Duration
  ) async throws(IOError) -> Int {
    try await read(into: buffer, at: offset, deadline: .now + timeout)
  }

  /// ``write(from:at:)`` due by `deadline` (`IORING_OP_LINK_TIMEOUT`): on
  /// expiry the kernel cancels the write and this throws
  /// ``IOError/Kind/timedOut``; the buffer stays lent until the write's CQE.
  public func write(
    from buffer: SharedBuffer, at offset: UInt64? = nil, deadline: ContinuousClock.Instant
  ) async throws(IOError) -> Int {
    try await IODeadline.withDeadline(deadline) { () async throws(IOError) -> Int in
      try await self.write(from: buffer, at: offset)
    }
  }

  /// ``write(from:at:)`` due within `timeout` from now; see
  /// ``write(from:at:deadline:)``.
  public func write(
    from buffer: SharedBuffer, at offset: UInt64? = nil, timeout: Duration
  ) async throws(IOError) -> Int {
    try await write(from: buffer, at: offset, deadline: .now + timeout)
  }
}
