import CDeviceDouble
import Dispatch
import Glibc
import SystemPackage
import TestSupport
import Testing
import Uring

@testable import UringReactor

// MARK: - Helpers

/// Memory that counts its lendings and its deinit, to prove it is lent and
/// released exactly once.
final class CountingMemory: BackingMemory {
  private struct Counts {
    var begun = 0
    var ended = 0
  }
  private let counts = Locked(Counts())
  // SAFETY: allocated in `init`, freed in `deinit`, which runs only once the
  // bridge (and everyone else) dropped its reference.
  nonisolated(unsafe) private let base: UnsafeMutableRawPointer
  private let size: Int
  private let deinits: Tally

  init(_ bytes: [UInt8], deinits: Tally) {
    size = bytes.count
    base = .allocate(byteCount: max(size, 1), alignment: 16)
    base.copyMemory(from: bytes, byteCount: size)
    self.deinits = deinits
  }

  deinit {
    base.deallocate()
    deinits.add(0)
  }

  var unsafeRegion: UnsafeMutableRawBufferPointer {
    UnsafeMutableRawBufferPointer(start: base, count: size)
  }

  func beginKernelAccess(_ access: KernelAccess) throws(MemoryAccessError) {
    try counts.withLock { counts throws(MemoryAccessError) in
      if counts.begun > counts.ended { throw MemoryAccessError(.kernelWriting) }
      counts.begun += 1
    }
  }

  func endKernelAccess(_ access: KernelAccess) {
    counts.withLock { $0.ended += 1 }
  }

  struct Lendings: Equatable {
    var begun: Int
    var ended: Int
  }

  /// How many lendings began and ended.
  var lendings: Lendings { counts.withLock { Lendings(begun: $0.begun, ended: $0.ended) } }

  /// A copy of the bytes, or `nil` while lent. Taken under the lock that
  /// `endKernelAccess` took, which orders it after the device's accesses.
  func bytes() -> [UInt8]? {
    counts.withLock { counts in
      guard counts.begun == counts.ended else { return nil }
      return Array(UnsafeRawBufferPointer(start: base, count: size))
    }
  }
}

/// A weak reference readable from any thread.
final class WeakRef<T: AnyObject & Sendable>: Sendable {
  private struct Weak { weak var value: T? }
  private let storage = Locked(Weak())
  func set(_ value: T) { storage.withLock { $0.value = value } }
  var value: T? { storage.withLock { $0.value } }
}

/// A gate of the device double.
final class DeviceGate: @unchecked Sendable {
  // SAFETY: created in `init`, destroyed in `deinit`; tests drop the gate
  // only after every transfer that used it finished (`dd_wait_idle` or
  // `dd_transfer_free`). The C side locks it.
  let pointer: OpaquePointer

  init() { pointer = dd_gate_create()! }
  deinit { dd_gate_destroy(pointer) }

  func open() { dd_gate_open(pointer) }

  /// Returns once `count` transfers wait at the gate.
  func waitForArrivals(_ count: UInt32) async {
    await offThread { dd_gate_wait_arrivals(self.pointer, count) }
  }
}

/// Where the device stores the checksum of what it read.
final class ChecksumSlot: @unchecked Sendable {
  // SAFETY: written by the device before it completes, read by the test
  // after the transfer was observed complete; freed in `deinit`, after
  // `dd_wait_idle`.
  let pointer = UnsafeMutablePointer<UInt64>.allocate(capacity: 1)
  init() { pointer.initialize(to: 0) }
  deinit { pointer.deallocate() }
  var value: UInt64 { pointer.pointee }
}

/// Runs a blocking C call on a Dispatch thread.
func offThread(_ body: @escaping @Sendable () -> Void) async {
  await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
    DispatchQueue.global().async {
      body()
      continuation.resume()
    }
  }
}

/// Returns once every device transfer has retired (callbacks returned,
/// eventfd transfers freed).
func waitForDeviceIdle() async {
  await offThread { dd_wait_idle() }
}

/// FNV-1a, as the device computes it.
func fnv1a(_ bytes: [UInt8]) -> UInt64 {
  var hash: UInt64 = 0xcbf2_9ce4_8422_2325
  for byte in bytes {
    hash ^= UInt64(byte)
    hash = hash &* 0x100_0000_01b3
  }
  return hash
}

func testBytes(_ count: Int) -> [UInt8] {
  (0..<count).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ 7) }
}

func deviceOptions(
  _ mode: dd_mode = DD_MODE_READ, pattern: UInt8 = 0, failErrno: CInt = 0,
  gate: DeviceGate? = nil, checksum: ChecksumSlot? = nil
) -> dd_options {
  var options = dd_options()
  options.mode = mode
  options.pattern = pattern
  options.fail_errno = failErrno
  options.gate = gate?.pointer
  options.checksum_out = checksum?.pointer
  return options
}

extension Reactor {
  /// A callback transfer of the device double.
  func deviceTransfer(
    _ memory: some BackingMemory, _ access: KernelAccess, _ options: dd_options
  ) async throws(ForeignCompletionError) -> Int {
    var options = options
    return try await awaitForeignCompletion(lending: memory, access: access) {
      token throws(Errno) in
      let result = dd_transfer_start_opts(
        token.region.baseAddress, token.region.count, &options, token.callback, token.userArg)
      if result < 0 { throw Errno(rawValue: -result) }
    }
  }

  /// An eventfd transfer of the device double; `finished` counts `finish` calls.
  func deviceEventFDTransfer(
    _ memory: some BackingMemory, _ access: KernelAccess, _ options: dd_options,
    finished: Tally? = nil
  ) async throws(ForeignCompletionError) -> Int {
    var options = options
    return try await awaitEventFD(lending: memory, access: access) { region throws(Errno) in
      var fd: CInt = -1
      guard
        let transfer = dd_transfer_start_eventfd_opts(
          region.baseAddress, region.count, &options, &fd)
      else { throw Errno(rawValue: errno) }
      return (FileDescriptor(rawValue: fd), transfer)
    } finish: { transfer in
      finished?.add(0)
      defer { dd_transfer_free(transfer) }
      return dd_transfer_status(transfer)
    }
  }
}

// MARK: - Tests

@Suite(.requiresUring, .sharesProcess, .serialized)
struct BridgeTests {
  // MARK: Callback flavour

  @Test func callbackTransferCompletes() async throws {
    try await withReactor { reactor in
      let bytes = testBytes(4096)
      let buffer = SharedBuffer(bytes)
      let result = try await reactor.awaitForeignCompletion(lending: buffer, access: .read) {
        token throws(Errno) in
        let started = dd_transfer_start(
          token.region.baseAddress, buffer.count, 0, 0, token.callback, token.userArg)
        if started < 0 { throw Errno(rawValue: -started) }
      }
      #expect(result == 4096)
      #expect(!buffer.isKernelReading)
      #expect(try buffer.bytes() == bytes)
      await waitForDeviceIdle()
      #expect(ForeignCompletion.live.withLock { $0 } == 0, "the foreign retain was released")
    }
  }

  @Test func callbackTransferOnTheReactorSeesAndWritesTheMemory() async throws {
    try await withReactor { reactor in
      let bytes = testBytes(8192)
      let buffer = SharedBuffer(bytes)
      let checksum = ChecksumSlot()
      let options = deviceOptions(DD_MODE_WRITE, pattern: 0xA5, checksum: checksum)
      let result = try await Task(executorPreference: reactor) {
        let result = try await reactor.deviceTransfer(buffer, .write, options)
        #expect(reactor.isCurrent, "resumed on the loop thread")
        return result
      }.value
      #expect(result == 8192)
      #expect(checksum.value == fnv1a(bytes), "the device read the caller's bytes")
      #expect(try buffer.bytes() == [UInt8](repeating: 0xA5, count: 8192))
      await waitForDeviceIdle()
    }
  }

  @Test func callbackErrorIsTyped() async throws {
    try await withReactor { reactor in
      let buffer = SharedBuffer(testBytes(100))
      await #expect(throws: ForeignCompletionError(.device(.ioError), deviceResult: -Int(EIO))) {
        try await reactor.deviceTransfer(buffer, .write, deviceOptions(failErrno: EIO))
      }
      #expect(!buffer.isKernelWriting, "the lending ended with the failed transfer")
      await waitForDeviceIdle()
      #expect(ForeignCompletion.live.withLock { $0 } == 0)
    }
  }

  @Test func failedStartEndsTheLending() async throws {
    try await withReactor { reactor in
      let deinits = Tally(1)
      await #expect(throws: ForeignCompletionError(.startFailed(.noMemory))) {
        try await reactor.awaitForeignCompletion(
          lending: CountingMemory(testBytes(10), deinits: deinits), access: .read
        ) { _ throws(Errno) in throw Errno.noMemory }
      }
      #expect(deinits.snapshot() == [1])
      #expect(
        ForeignCompletion.live.withLock { $0 } == 0,
        "the retain for the foreign side was taken back")
      // The device double refuses a missing callback without calling back.
      let buffer = SharedBuffer(testBytes(10))
      await #expect(throws: ForeignCompletionError(.startFailed(.invalidArgument))) {
        try await reactor.awaitForeignCompletion(lending: buffer, access: .read) {
          token throws(Errno) in
          let started = dd_transfer_start(token.region.baseAddress, 10, 0, 0, nil, token.userArg)
          if started < 0 { throw Errno(rawValue: -started) }
        }
      }
      #expect(!buffer.isKernelReading)
      #expect(dd_live_transfers() == 0)
    }
  }

  @Test func busyMemoryIsNotLent() async throws {
    try await withReactor { reactor in
      let buffer = SharedBuffer(testBytes(64))
      let gate = DeviceGate()
      let first = Task {
        try await reactor.deviceTransfer(buffer, .write, deviceOptions(gate: gate))
      }
      await gate.waitForArrivals(1)
      #expect(buffer.isKernelWriting)
      #expect(buffer.withUniqueBytes { _ in true } == nil, "user access refused while lent")
      await #expect(throws: ForeignCompletionError(.memoryBusy(MemoryAccessError(.kernelWriting))))
      {
        try await reactor.deviceTransfer(buffer, .read, deviceOptions())
      }
      gate.open()
      let transferred = try await first.value
      #expect(transferred == 64)
      #expect(!buffer.isKernelWriting)
      await waitForDeviceIdle()
    }
  }

  /// The bridge, not the caller, keeps the memory: with every other
  /// reference gone, it lives until the callback fires, then goes at once.
  @Test func completionAloneKeepsTheMemoryUntilTheCallback() async throws {
    try await withReactor { reactor in
      let gate = DeviceGate()
      let deinits = Tally(1)
      let weak = WeakRef<CountingMemory>()
      let checksum = ChecksumSlot()
      let bytes = testBytes(4096)
      let completion = try { () throws -> ForeignCompletion in
        let memory = CountingMemory(bytes, deinits: deinits)
        weak.set(memory)
        let completion = try ForeignCompletion.lend(memory, .write, on: reactor)
        var options = deviceOptions(DD_MODE_WRITE, pattern: 1, gate: gate, checksum: checksum)
        try completion.startWithToken { token throws(Errno) in
          let started = dd_transfer_start_opts(
            token.region.baseAddress, token.region.count, &options, token.callback, token.userArg)
          if started < 0 { throw Errno(rawValue: -started) }
        }
        return completion
      }()
      await gate.waitForArrivals(1)
      #expect(weak.value != nil, "the bridge holds the memory the device is about to use")
      #expect(weak.value?.lendings == .init(begun: 1, ended: 0))
      gate.open()
      guard case .completed(let result) = await completion.wait() else {
        Issue.record("unobservable")
        return
      }
      #expect(result == 4096)
      #expect(weak.value == nil, "released as soon as the callback fired")
      #expect(deinits.snapshot() == [1])
      #expect(checksum.value == fnv1a(bytes))
      await waitForDeviceIdle()
    }
  }

  /// Rule 3: a cancelled waiter does not return, nor free anything, while
  /// the device holds the memory; it throws "cancelled" once the device is
  /// done, and the memory is released exactly once.
  @Test func cancelledCallbackWaiterWaitsForTheDevice() async throws {
    try await withReactor { reactor in
      let gate = DeviceGate()
      let deinits = Tally(1)
      let returned = Tally(1)
      let weak = WeakRef<CountingMemory>()
      let checksum = ChecksumSlot()
      let bytes = testBytes(4096)
      let waiter = Task(executorPreference: reactor) {
        defer { returned.add(0) }
        let memory = CountingMemory(bytes, deinits: deinits)
        weak.set(memory)
        return try await reactor.deviceTransfer(
          memory, .write,
          deviceOptions(DD_MODE_WRITE, pattern: 0x5A, gate: gate, checksum: checksum))
      }
      await gate.waitForArrivals(1)
      waiter.cancel()
      // A round trip through the loop: a waiter resumed by the cancellation
      // would have run by now.
      try await reactor.nop()
      try await reactor.nop()
      #expect(returned.snapshot() == [0], "the cancelled waiter still waits for the device")
      #expect(weak.value != nil, "the memory is alive while the device holds it")
      #expect(weak.value?.lendings == .init(begun: 1, ended: 0), "and still lent")
      #expect(weak.value?.bytes() == nil, "user access refused")
      gate.open()
      await #expect(throws: ForeignCompletionError(.cancelled, deviceResult: 4096)) {
        try await waiter.value
      }
      #expect(weak.value == nil)
      #expect(deinits.snapshot() == [1], "released exactly once")
      #expect(checksum.value == fnv1a(bytes), "the device saw valid memory")
      await waitForDeviceIdle()
      #expect(ForeignCompletion.live.withLock { $0 } == 0)
    }
  }

  @Test func alreadyCancelledTaskLendsNothing() async throws {
    try await withReactor { reactor in
      let buffer = SharedBuffer(testBytes(16))
      let task = Task(executorPreference: reactor) {
        withUnsafeCurrentTask { $0?.cancel() }
        return try await reactor.awaitForeignCompletion(lending: buffer, access: .write) { _ in
          Issue.record("started")
        }
      }
      await #expect(throws: ForeignCompletionError(.cancelled)) { try await task.value }
      #expect(!buffer.isKernelWriting)
    }
  }

  @Test func shutDownReactorLendsNothing() async throws {
    let reactor = try Reactor()
    await reactor.shutdown()
    let buffer = SharedBuffer(testBytes(16))
    await #expect(throws: ForeignCompletionError(.reactorShutDown)) {
      try await reactor.deviceTransfer(buffer, .read, deviceOptions())
    }
    await #expect(throws: ForeignCompletionError(.reactorShutDown)) {
      try await reactor.deviceEventFDTransfer(buffer, .read, deviceOptions())
    }
    #expect(!buffer.isKernelReading)
    #expect(dd_live_transfers() == 0)
  }

  // MARK: Eventfd flavour

  @Test func eventFDTransferCompletes() async throws {
    try await withReactor { reactor in
      let recorder = OperationRecorder()
      try await recorder.install(on: reactor)
      let bytes = testBytes(4096)
      let buffer = SharedBuffer(bytes)
      let checksum = ChecksumSlot()
      let finished = Tally(1)
      let result = try await reactor.deviceEventFDTransfer(
        buffer, .write, deviceOptions(DD_MODE_WRITE, pattern: 0x3C, checksum: checksum),
        finished: finished)
      #expect(result == 4096)
      #expect(finished.snapshot() == [1])
      #expect(checksum.value == fnv1a(bytes))
      #expect(try buffer.bytes() == [UInt8](repeating: 0x3C, count: 4096))
      #expect(recorder.completedCount(.pollAdd) >= 1)
      #expect(dd_live_transfers() == 0, "finish freed the transfer")
      #expect(dd_open_eventfds() == 0, "its eventfd was closed")
      #expect(ForeignCompletion.live.withLock { $0 } == 0)
    }
  }

  @Test func eventFDErrorIsTyped() async throws {
    try await withReactor { reactor in
      let buffer = SharedBuffer(testBytes(512))
      let finished = Tally(1)
      await #expect(throws: ForeignCompletionError(.device(.noSpace), deviceResult: -Int(ENOSPC))) {
        try await Task(executorPreference: reactor) {
          try await reactor.deviceEventFDTransfer(
            buffer, .read, deviceOptions(failErrno: ENOSPC), finished: finished)
        }.value
      }
      #expect(finished.snapshot() == [1])
      #expect(!buffer.isKernelReading)
      #expect(dd_live_transfers() == 0)
      #expect(dd_open_eventfds() == 0)
    }
  }

  /// The bridge alone keeps the memory while the poll is in flight.
  @Test func eventFDWatchAloneKeepsTheMemory() async throws {
    try await withReactor { reactor in
      let gate = DeviceGate()
      let deinits = Tally(1)
      let weak = WeakRef<CountingMemory>()
      let recorder = OperationRecorder()
      try await recorder.install(on: reactor)
      let (completion, transfer) = try { () throws -> (ForeignCompletion, OpaquePointer) in
        let memory = CountingMemory(testBytes(4096), deinits: deinits)
        weak.set(memory)
        let completion = try ForeignCompletion.lend(memory, .write, on: reactor)
        var options = deviceOptions(DD_MODE_WRITE, pattern: 2, gate: gate)
        let started = try completion.startWithRegion { region throws(Errno) in
          var fd: CInt = -1
          guard
            let transfer = dd_transfer_start_eventfd_opts(
              region.baseAddress, region.count, &options, &fd)
          else { throw Errno(rawValue: errno) }
          return (fd, transfer)
        }
        let (fd, transfer) = started
        Task(executorPreference: reactor) {
          EventFDWatch(fd: fd, completion: completion, loop: reactor.loop).arm()
        }
        return (completion, transfer)
      }()
      await recorder.waitUntilPrepared(.pollAdd, count: 1)
      await gate.waitForArrivals(1)
      #expect(weak.value != nil)
      #expect(weak.value?.lendings == .init(begun: 1, ended: 0))
      gate.open()
      guard case .completed(let count) = await completion.wait() else {
        Issue.record("unobservable")
        return
      }
      #expect(count == 1, "the eventfd's count")
      #expect(weak.value == nil, "released once the eventfd was read")
      #expect(deinits.snapshot() == [1])
      #expect(dd_transfer_status(transfer) == 4096)
      dd_transfer_free(transfer)
      #expect(dd_open_eventfds() == 0)
    }
  }

  /// Rule 3 for the eventfd flavour: cancellation cancels nothing in the
  /// ring, the waiter waits for the device, `finish` still runs.
  @Test func cancelledEventFDWaiterWaitsForTheDevice() async throws {
    try await withReactor { reactor in
      let recorder = OperationRecorder()
      try await recorder.install(on: reactor)
      let gate = DeviceGate()
      let deinits = Tally(1)
      let returned = Tally(1)
      let finished = Tally(1)
      let weak = WeakRef<CountingMemory>()
      let checksum = ChecksumSlot()
      let bytes = testBytes(4096)
      let waiter = Task(executorPreference: reactor) {
        defer { returned.add(0) }
        let memory = CountingMemory(bytes, deinits: deinits)
        weak.set(memory)
        return try await reactor.deviceEventFDTransfer(
          memory, .read, deviceOptions(gate: gate, checksum: checksum), finished: finished)
      }
      await recorder.waitUntilPrepared(.pollAdd, count: 1)
      await gate.waitForArrivals(1)
      waiter.cancel()
      try await reactor.nop()
      try await reactor.nop()
      #expect(returned.snapshot() == [0], "the cancelled waiter still waits for the device")
      #expect(recorder.preparedCount(.asyncCancel) == 0, "the poll was not cancelled")
      #expect(dd_open_eventfds() == 1, "the eventfd stays open while the device runs")
      #expect(weak.value?.lendings == .init(begun: 1, ended: 0), "the memory is alive and lent")
      gate.open()
      await #expect(throws: ForeignCompletionError(.cancelled, deviceResult: 4096)) {
        try await waiter.value
      }
      #expect(finished.snapshot() == [1], "finish ran once the device was done")
      #expect(weak.value == nil)
      #expect(deinits.snapshot() == [1], "released exactly once")
      #expect(checksum.value == fnv1a(bytes), "the device saw valid memory")
      #expect(dd_live_transfers() == 0)
      #expect(dd_open_eventfds() == 0, "the eventfd was closed")
    }
  }

  /// Shutdown cancels the poll (on the loop thread); the bridge keeps the
  /// memory and waits for the eventfd off the ring.
  @Test func shutdownWhileTheDeviceHoldsTheMemory() async throws {
    let reactor = try Reactor()
    let recorder = OperationRecorder()
    try await recorder.install(on: reactor)
    let gate = DeviceGate()
    let deinits = Tally(1)
    let finished = Tally(1)
    let weak = WeakRef<CountingMemory>()
    let checksum = ChecksumSlot()
    let bytes = testBytes(4096)
    let waiter = Task(executorPreference: reactor) {
      let memory = CountingMemory(bytes, deinits: deinits)
      weak.set(memory)
      return try await reactor.deviceEventFDTransfer(
        memory, .write, deviceOptions(DD_MODE_WRITE, pattern: 9, gate: gate, checksum: checksum),
        finished: finished)
    }
    await recorder.waitUntilPrepared(.pollAdd, count: 1)
    await gate.waitForArrivals(1)
    await reactor.shutdown()
    #expect(recorder.completedCount(.pollAdd) == 1, "the poll was cancelled by the shutdown")
    #expect(
      weak.value?.lendings == .init(begun: 1, ended: 0),
      "the memory is alive and lent after the shutdown")
    gate.open()
    await #expect(throws: ForeignCompletionError(.reactorShutDown, deviceResult: 4096)) {
      try await waiter.value
    }
    #expect(finished.snapshot() == [1])
    #expect(weak.value == nil)
    #expect(deinits.snapshot() == [1])
    #expect(checksum.value == fnv1a(bytes))
    #expect(dd_live_transfers() == 0)
    #expect(dd_open_eventfds() == 0, "the eventfd was closed")
  }

  /// An eventfd that cannot be polled: the end of the transfer can never be
  /// seen, so the memory is kept for good rather than freed under the device.
  @Test func unwaitableEventFDAbandonsTheMemory() async throws {
    try await withReactor { reactor in
      let gate = DeviceGate()
      let deinits = Tally(1)
      let finished = Tally(1)
      let abandonedBefore = AbandonedMemory.count
      let transferBox = Locked<OpaquePointer?>(nil)
      // No weak reference to this memory: it outlives the process's last
      // check, and LeakSanitizer cannot see the weak side table of a live
      // object (its address is stored tagged in the object's header).
      await #expect(throws: ForeignCompletionError(.eventFDFailed(.badFileDescriptor))) {
        var options = deviceOptions(DD_MODE_WRITE, pattern: 3, gate: gate)
        _ = try await reactor.awaitEventFD(
          lending: CountingMemory(testBytes(256), deinits: deinits), access: .write
        ) { region throws(Errno) in
          var fd: CInt = -1
          guard
            let transfer = dd_transfer_start_eventfd_opts(
              region.baseAddress, region.count, &options, &fd)
          else { throw Errno(rawValue: errno) }
          transferBox.withLock { $0 = transfer }
          return (FileDescriptor(rawValue: -1), transfer)
        } finish: { (_: OpaquePointer) in
          finished.add(0)
          return 0
        }
      }
      #expect(finished.snapshot() == [0], "finish is not called while the device may run")
      #expect(AbandonedMemory.count == abandonedBefore + 1)
      let kept = AbandonedMemory.last as? CountingMemory
      #expect(kept?.lendings == .init(begun: 1, ended: 0), "kept alive, and still lent")
      #expect(kept?.bytes() == nil, "user access refused")
      // The device still writes into it: no use-after-free.
      gate.open()
      dd_transfer_free(transferBox.withLock { $0 }!)
      #expect(deinits.snapshot() == [0], "never freed")
      #expect(dd_open_eventfds() == 0)
    }
  }

  // MARK: Leaks

  @Test func manyTransfersLeakNothing() async throws {
    try await withReactor { reactor in
      let finished = Tally(1)
      let total = try await withThrowingTaskGroup(of: Int.self) { group in
        for index in 0..<32 {
          group.addTask(executorPreference: index.isMultiple(of: 2) ? reactor : nil) {
            let buffer = SharedBuffer(testBytes(1024 + index))
            let options = deviceOptions(
              index.isMultiple(of: 3) ? DD_MODE_WRITE : DD_MODE_READ,
              failErrno: index.isMultiple(of: 5) ? EAGAIN : 0)
            do throws(ForeignCompletionError) {
              return try await index.isMultiple(of: 4)
                ? reactor.deviceTransfer(buffer, .write, options)
                : reactor.deviceEventFDTransfer(buffer, .write, options, finished: finished)
            } catch {
              #expect(error.kind == .device(.resourceTemporarilyUnavailable))
              return 0
            }
          }
        }
        return try await group.reduce(0, +)
      }
      let expected = (0..<32).filter { !$0.isMultiple(of: 5) }.map { 1024 + $0 }.reduce(0, +)
      #expect(total == expected)
      #expect(finished.snapshot() == [24])
      await waitForDeviceIdle()
      #expect(dd_open_eventfds() == 0, "every eventfd was closed")
      #expect(ForeignCompletion.live.withLock { $0 } == 0)
    }
  }
}
