import Dispatch
import Glibc
import Synchronization

extension FileReads {
  /// The `dispatch-io` system: one `DispatchIO` random-access channel over a
  /// descriptor of its own, and `depth` lanes on the default executor, each
  /// awaiting `channel.read(offset:length:queue:)` per read, at the offsets
  /// the `dispatch` system's preads use. Only the lanes are timed; before
  /// returning, the channel is closed and its cleanup handler (which closes
  /// the descriptor) awaited, so no run leaves a channel or descriptor behind.
  func runOnDispatchIO(_ file: BenchFile, perLane: Int) async throws(BenchError) -> Sample {
    let channel = try DispatchIOReader(file, readSize: blockSize)
    let outcome: Result<Sample, BenchError>
    do throws(BenchError) {
      outcome = .success(
        try await lanes(perLane: perLane) { lane, step throws(BenchError) in
          try await channel.read(lane: lane, step: step)
        })
    } catch {
      outcome = .failure(error)
    }
    await channel.close()
    return try outcome.get()
  }
}

/// A `DispatchIO` random-access channel reading `readSize` bytes at a time
/// from its own descriptor of the bench file.
///
/// Thread-safety: `read` may be called from any number of tasks at once
/// (DispatchIO queues the reads of one channel); `close` once, after the last
/// read returned.
final class DispatchIOReader: Sendable {
  private let file: BenchFile
  private let readSize: Int
  private let channel: DispatchIO
  /// Where the reads' handlers run (each read's handler calls are serialised).
  private let queue: DispatchQueue
  /// Left by the cleanup handler, once the channel has let go of the
  /// descriptor and closed it.
  private let released: DispatchGroup

  init(_ file: BenchFile, readSize: Int) throws(BenchError) {
    self.file = file
    self.readSize = readSize
    // A fresh descriptor (file position 0, which a random-access channel's
    // offsets are relative to), owned by the channel until its cleanup.
    let descriptor = unsafe open(file.path.string, O_RDONLY | O_CLOEXEC)
    guard descriptor >= 0 else {
      throw BenchError(
        unsafe "dispatch-io: cannot open \(file.path): \(String(cString: strerror(errno)))")
    }
    let queue = DispatchQueue(label: "uring-bench.dispatch-io", attributes: .concurrent)
    let released = DispatchGroup()
    released.enter()
    self.queue = queue
    self.released = released
    channel = DispatchIO(type: .random, fileDescriptor: descriptor, queue: queue) { _ in
      Glibc.close(descriptor)
      released.leave()
    }
    // Deliver each read whole, in one handler call (a short read still ends it).
    channel.setLimit(lowWater: readSize)
  }

  /// `lane`'s `step`-th read (``BenchFile/offset(lane:step:size:)``); a
  /// short read or an error throws.
  func read(lane: Int, step: Int) async throws(BenchError) {
    let offset = file.offset(lane: lane, step: step, size: readSize)
    let (count, error) = unsafe await withUnsafeContinuation {
      (continuation: UnsafeContinuation<(Int, Int32), Never>) in
      let received = ByteCount()
      channel.read(offset: off_t(offset), length: readSize, queue: queue) { done, data, error in
        let total = received.add(data?.count ?? 0)
        if done { unsafe continuation.resume(returning: (total, error)) }
      }
    }
    guard error == 0 else {
      let reason = unsafe String(cString: strerror(error))
      throw BenchError("dispatch-io: read of \(readSize) bytes at \(offset) failed: " + reason)
    }
    guard count == readSize else {
      throw BenchError("dispatch-io: short read of \(count) of \(readSize) bytes at \(offset)")
    }
  }

  /// Closes the channel (its reads are done: `flags: []` lets any left finish)
  /// and waits until the cleanup handler has closed the descriptor.
  func close() async {
    channel.close(flags: [])
    unsafe await withUnsafeContinuation { (continuation: UnsafeContinuation<Void, Never>) in
      released.notify(queue: queue) { unsafe continuation.resume() }
    }
  }
}

/// The bytes one DispatchIO read has delivered so far.
final class ByteCount: Sendable {
  // Ordering: relaxed is enough: every add is a read-modify-write of this one
  // atomic, so the last add's result counts all earlier ones, and the
  // continuation resumed after it publishes nothing else.
  private let value = Atomic<Int>(0)

  /// Adds `count`; returns the new total.
  func add(_ count: Int) -> Int {
    value.add(count, ordering: .relaxed).newValue
  }
}
