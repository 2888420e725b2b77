import Glibc
import Uring

extension SocketStream {
  /// Sends bytes of `file` to the peer without copying them through user
  /// memory: each step splices up to a pipe's capacity (1 MiB when the
  /// system allows, else 64 KiB) from the file into a pipe
  /// (`IORING_OP_SPLICE`, file -> pipe) and then from the pipe into the
  /// socket (`IORING_OP_SPLICE`, pipe -> socket, `SPLICE_F_MORE` while more
  /// follows), until the range is sent. Returns the bytes sent: all of
  /// `range`, or fewer only when the file ends first.
  ///
  /// - Parameters:
  ///   - file: an open, readable file (not a pipe or socket), of this
  ///     stream's reactor. Its position is neither used nor moved.
  ///   - range: the file offsets to send; `nil`: from offset 0 to the end
  ///     of the file.
  /// - Ownership: the pipes come from a per-reactor pool. The file -> pipe
  ///   splice's in-flight slot retains `file` and the pipe, the pipe ->
  ///   socket splice's retains the pipe and the socket, each until its own
  ///   final CQE (rules 1 and 2): closing the file or the stream meanwhile
  ///   cannot free a descriptor the kernel still uses. A pipe goes back to
  ///   the pool only when empty; after a failure or cancellation between the
  ///   two splices it may hold unsent bytes, and is dropped (closed once its
  ///   last slot releases it), never reused.
  /// - Thread-safety: call from any task; the splices are prepared on the
  ///   stream's loop thread. Concurrent writes from other tasks may
  ///   interleave their bytes with these between two splices.
  /// - Cancellation: a cancelled task (or one past its ``IODeadline``) has
  ///   the splice in flight cancelled (`IORING_OP_ASYNC_CANCEL`), waits for
  ///   its CQE and throws ``IOError/Kind/cancelled`` (``IOError/Kind/timedOut``);
  ///   some bytes may have been sent.
  /// - Throws: ``IOError`` with operation `.splice`: carrying the file's
  ///   path when reading the file failed, the peer's address when sending
  ///   failed (`EPIPE`, ``IOError/isBrokenPipe``, or `ECONNRESET` when the
  ///   peer is gone); ``IOError/Kind/invalidRequest(_:)`` for a file of
  ///   another reactor or a range past `Int64.max`, before anything is
  ///   submitted.
  @discardableResult
  nonisolated(nonsending) public func send(file: File, range: Range<UInt64>? = nil)
    async throws(IOError) -> Int
  {
    let handle = self.handle
    guard file.reactor === handle.reactor else {
      throw IOError(
        .invalidRequest("send(file:) of a file of another reactor"), operation: .splice,
        path: file.path)
    }
    let start = range?.lowerBound ?? 0
    let end = range?.upperBound ?? UInt64(Int64.max)
    guard end <= UInt64(Int64.max) else {
      throw IOError(
        .invalidRequest("file range past Int64.max"), operation: .splice, path: file.path)
    }
    return try await handle.onLoop { loop throws(IOError) -> Int in
      // `SPLICE_F_MORE` only where the end is known: the last splice of
      // the range goes without it, so the socket pushes its tail at once.
      try await loop.spliceFile(file, from: start, to: end, knownEnd: range != nil, handle: handle)
    }
  }
}

extension SocketStream {
  /// Sends all the bytes of a chunk read from a file (``FileChunks``,
  /// ``FileOffsetReads``) straight from the chunk's buffer
  /// (`IORING_OP_SEND`, `MSG_NOSIGNAL`, as many as it takes).
  ///
  /// - Ownership: each send's in-flight slot retains the chunk (its buffer
  ///   cannot go back to its stream and be read into) and the socket until
  ///   its final CQE (rule 1); the chunk is immutable, so nothing needs
  ///   lending.
  /// - Thread-safety: call from any task. Cancellation and errors: as
  ///   ``writeAll(from:)-(SharedBuffer)``: the send in flight is cancelled
  ///   (`IORING_OP_ASYNC_CANCEL`) and awaited; some bytes may have been sent.
  nonisolated(nonsending) public func writeAll(_ chunk: FileChunk) async throws(IOError) {
    let handle = self.handle
    try await handle.onLoop { loop throws(IOError) in
      guard chunk.count > 0 else { return }
      // SAFETY: the chunk owns its storage and is immutable; the slots
      // retain it until the last send's CQE.
      _ = try await unsafe loop.send(chunk.region, once: false, retaining: chunk, handle: handle)
    }
  }
}

extension EventLoop {
  /// Splices `file`'s bytes at `start..<end` to the socket through a pooled
  /// pipe (see ``SocketStream/send(file:range:)``). Loop thread.
  nonisolated(nonsending) func spliceFile(
    _ file: File, from start: UInt64, to end: UInt64, knownEnd: Bool, handle: SocketHandle
  ) async throws(IOError) -> Int {
    // SAFETY: `splicePipes` is loop-confined (this is the loop thread).
    let pipe = try unsafe splicePipes.take(address: handle.peer)
    var offset = start
    var sent = 0
    while offset < end {
      let fileFD = try file.liveDescriptor(for: .splice)
      let wanted = UInt32(clamping: min(end - offset, UInt64(pipe.capacity)))
      // The pipe is empty here: the whole of `wanted` fits in it.
      let filled = unsafe Int(
        try await perform(
          .splice(
            input: fileFD, inputOffset: Int64(offset), output: pipe.writeEnd, outputOffset: -1,
            count: wanted, flags: spliceMove),
          retaining: (file, pipe)
        ).value(.splice, path: file.path))
      if filled == 0 { break }  // The file ended before `end`.
      offset += UInt64(filled)
      var inPipe = filled
      while inPipe > 0 {
        // Any throw from here leaves bytes in the pipe: it is not given back.
        let socketFD = try handle.liveDescriptor(for: .splice)
        let more = knownEnd && offset < end ? spliceMore : 0
        let moved = unsafe Int(
          try await perform(
            .splice(
              input: pipe.readEnd, inputOffset: -1, output: socketFD, outputOffset: -1,
              count: UInt32(inPipe), flags: spliceMove | more),
            retaining: (pipe, handle)
          ).value(.splice, address: handle.peer))
        // Splicing a non-empty pipe into a stream socket never moves 0
        // bytes; if the kernel ever said so, retrying would never end.
        if moved == 0 {
          throw IOError(.system(.brokenPipe), operation: .splice, address: handle.peer)
        }
        inPipe -= moved
        sent += moved
      }
    }
    // SAFETY: as above, on the loop thread.
    unsafe splicePipes.giveBack(pipe)
    return sent
  }
}

/// `SPLICE_F_MOVE`: move pages rather than copy them (a hint).
let spliceMove: UInt32 = 0x01
/// `SPLICE_F_MORE`: more data follows (the socket may hold back a partial
/// segment, as `MSG_MORE` does).
let spliceMore: UInt32 = 0x04
