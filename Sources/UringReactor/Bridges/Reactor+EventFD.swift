public import SystemPackage

extension Reactor {
  /// Lends `memory` to a foreign API that signals the end of its transfer by
  /// making an eventfd readable, and waits for it on the ring.
  ///
  /// `start` runs synchronously in the caller's context, after the memory has
  /// been lent: it starts the foreign transfer on the region and returns the
  /// eventfd to wait on, and a handle for `finish`. It throws (an errno) only
  /// if the foreign side did not take the memory. Once the eventfd is
  /// readable, the bridge reads (resets) it, then calls `finish` with the
  /// handle, in the caller's context, exactly once: it returns the
  /// transfer's result (a byte count or a negated errno) and releases the
  /// foreign resources (the handle, and the eventfd if they own it). The
  /// bridge never closes the eventfd.
  ///
  /// ```swift
  /// let sent = try await reactor.awaitEventFD(lending: buffer, access: .read) { region in
  ///   var fd: CInt = -1
  ///   guard let transfer = start_transfer(region.baseAddress, region.count, &fd) else {
  ///     throw Errno(rawValue: errno)
  ///   }
  ///   return (FileDescriptor(rawValue: fd), transfer)
  /// } finish: { transfer in
  ///   defer { free_transfer(transfer) }
  ///   return transfer_status(transfer)
  /// }
  /// ```
  ///
  /// - Ownership: from before `start` runs until the eventfd is readable,
  ///   the bridge (the in-flight slot of the poll, then the completion) holds
  ///   a strong reference to `memory` and keeps its kernel access open for
  ///   `access`; then it ends the access and drops the memory, on the loop
  ///   thread, before `finish` runs.
  /// - Operations: `IORING_OP_POLL_ADD` (one-shot, `POLLIN`) on the eventfd,
  ///   then `read(2)` of its counter on the loop thread, which does not block
  ///   because the eventfd is readable. Nobody else may read the eventfd.
  ///   Prefer `EFD_NONBLOCK` eventfds.
  /// - Cancellation: task cancellation does not cancel the poll, because the
  ///   memory must stay lent until the foreign side is done: the call keeps
  ///   waiting, runs `finish`, then throws ``ForeignCompletionError/Kind/cancelled``
  ///   (with `finish`'s result in ``ForeignCompletionError/deviceResult``).
  ///   Abort the foreign transfer from your own `withTaskCancellationHandler`
  ///   to return sooner. Only the reactor's shutdown cancels the poll
  ///   (`IORING_OP_ASYNC_CANCEL`, submitted on the loop thread); the bridge
  ///   then keeps waiting with a blocking `poll(2)` on a Dispatch thread,
  ///   runs `finish`, and throws ``ForeignCompletionError/Kind/reactorShutDown``.
  /// - Throws: ``ForeignCompletionError``: also ``ForeignCompletionError/Kind/device(_:)``
  ///   when `finish` returns a negative errno, ``ForeignCompletionError/Kind/startFailed(_:)``,
  ///   ``ForeignCompletionError/Kind/memoryBusy(_:)``, and
  ///   ``ForeignCompletionError/Kind/eventFDFailed(_:)`` when the eventfd cannot
  ///   be waited on: the end of the transfer can then never be known, so
  ///   `finish` is not called and the memory stays lent and alive for good.
  /// - Thread-safety: call from any task; the poll is prepared on the loop
  ///   thread (the call hops there unless it runs on the reactor already).
  nonisolated(nonsending) public func awaitEventFD<Handle>(
    lending memory: some BackingMemory,
    access: KernelAccess,
    start: (UnsafeMutableRawBufferPointer) throws(Errno) -> (
      eventFD: FileDescriptor, handle: Handle
    ),
    finish: (Handle) -> Int
  ) async throws(ForeignCompletionError) -> Int {
    // SAFETY: the region reaches the foreign side only inside `start`, after
    // `lend` began the kernel access and while `completion` holds the memory;
    // it holds it until the eventfd says the foreign side is done.
    let completion = try ForeignCompletion.lend(memory, access, on: self)
    let started = unsafe try completion.startWithRegion(start)
    let fd = started.eventFD.rawValue
    let outcome = await onLoop { loop in
      EventFDWatch(fd: fd, completion: completion, loop: loop).arm()
      return await completion.wait()
    }
    switch outcome {
    case .completed:
      return try completion.value(deviceResult: finish(started.handle))
    case .unobservable(let errno):
      throw ForeignCompletionError(.eventFDFailed(errno))
    }
  }
}
