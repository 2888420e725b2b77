extension File {
  /// ``read(into:at:)->Int`` due by `deadline`: the read is linked to an
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

  /// ``read(into:at:)->Int`` due within `timeout` from now; see
  /// ``read(into:at:deadline:)``.
  public func read(
    into buffer: SharedBuffer, at offset: UInt64? = nil, timeout: Duration
  ) async throws(IOError) -> Int {
    try await read(into: buffer, at: offset, deadline: .now + timeout)
  }

  /// ``write(from:at:)->Int`` due by `deadline` (`IORING_OP_LINK_TIMEOUT`): on
  /// expiry the kernel cancels the write and this throws
  /// ``IOError/Kind/timedOut``; the buffer stays lent until the write's CQE.
  public func write(
    from buffer: SharedBuffer, at offset: UInt64? = nil, deadline: ContinuousClock.Instant
  ) async throws(IOError) -> Int {
    try await IODeadline.withDeadline(deadline) { () async throws(IOError) -> Int in
      try await self.write(from: buffer, at: offset)
    }
  }

  /// ``write(from:at:)->Int`` due within `timeout` from now; see
  /// ``write(from:at:deadline:)``.
  public func write(
    from buffer: SharedBuffer, at offset: UInt64? = nil, timeout: Duration
  ) async throws(IOError) -> Int {
    try await write(from: buffer, at: offset, deadline: .now + timeout)
  }

  /// ``chunks(from:length:chunkSize:readAhead:)`` with every read due by
  /// `deadline` (or by the innermost ``IODeadline`` scope's deadline, if
  /// earlier): each read the stream submits, for read-ahead too, is linked to
  /// an `IORING_OP_LINK_TIMEOUT` at that instant; a read started after it
  /// submits nothing. A read that times out makes `next()` throw
  /// ``IOError/Kind/timedOut`` after the chunks before it; the stream then
  /// ends. The deadline bounds the whole stream, not each chunk: there is
  /// no `timeout:` form, since a duration would be measured from now anyway.
  public func chunks(
    from offset: UInt64? = 0, length: UInt64? = nil, chunkSize: Int = 1 << 20,
    readAhead: Int = 4, deadline: ContinuousClock.Instant
  ) -> FileChunks {
    FileChunks(
      file: self, ownsFile: false, start: offset, length: length,
      chunkSize: max(1, min(chunkSize, File.maximumTransfer)), readAhead: max(1, readAhead),
      deadline: IODeadline.effective(OperationDeadline(deadline)))
  }

  /// ``reads(at:size:depth:)`` with every read due by `deadline` (or by the
  /// innermost ``IODeadline`` scope's deadline, if earlier): each read the
  /// stream submits is linked to an `IORING_OP_LINK_TIMEOUT` at that
  /// instant; a read started after it submits nothing. A read that times
  /// out makes `next()` throw ``IOError/Kind/timedOut`` after the chunks of
  /// the offsets before it; the stream then ends. The deadline bounds the
  /// whole stream, not each read (hence no `timeout:` form).
  public func reads(
    at offsets: some Sequence<UInt64> & Sendable, size: Int, depth: Int = 32,
    deadline: ContinuousClock.Instant
  ) -> FileOffsetReads {
    FileOffsetReads(
      file: self, offsets: offsets, size: max(1, min(size, File.maximumTransfer)),
      depth: max(1, depth), deadline: IODeadline.effective(OperationDeadline(deadline)))
  }

  /// ``writer(startingAt:maxInFlight:bufferSize:)`` with every write due by
  /// `deadline` (or by the innermost ``IODeadline`` scope's deadline, if
  /// earlier): each write it submits, the rest of a short write too, is
  /// linked to an `IORING_OP_LINK_TIMEOUT` at that instant; a write started
  /// after it submits nothing. A write that times out fails the writer:
  /// ``FileWriter/write(_:)`` and ``FileWriter/finish()`` throw
  /// ``IOError/Kind/timedOut``. The deadline bounds the whole writer, not
  /// each write (hence no `timeout:` form).
  public func writer(
    startingAt offset: UInt64? = 0, maxInFlight: Int = 4, bufferSize: Int = 1 << 20,
    deadline: ContinuousClock.Instant
  ) -> FileWriter {
    FileWriter(
      file: self, startingAt: offset, maxInFlight: maxInFlight, bufferSize: bufferSize,
      deadline: IODeadline.effective(OperationDeadline(deadline)))
  }
}
