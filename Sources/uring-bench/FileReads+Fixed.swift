import UringReactor

/// `reactor-fixed` of the `file-direct-random-*` workloads: `reactor`'s
/// tasks, but each reads into its own registered buffer through a
/// registered file (`RegisteredFile.readFixed(into:at:)`,
/// `IORING_OP_READ_FIXED` with `IOSQE_FIXED_FILE`), so the kernel neither
/// looks up the descriptor nor pins the buffer's pages per read.
extension FileReads {
  static let fixedFootnote =
    "the tasks of reactor, each reading into its own registered buffer (a RegisteredBufferPool "
    + "of depth 4 KiB buffers) through a registered file (RegisteredFileTable): "
    + "`registered.readFixed(into: lease, at:)` (IORING_OP_READ_FIXED with IOSQE_FIXED_FILE); "
    + "the table and pool are registered and unregistered inside the timed run"

  /// `depth` tasks preferring `reactor`, each `perLane` fixed reads at its
  /// lane's random offsets (those of `reactor`).
  func randomOnFixed(_ benchFile: BenchFile, reactor: Reactor, perLane: Int)
    async throws(BenchError) -> Sample
  {
    let depth = self.depth
    return try await timedOnReactor(benchFile, reactor: reactor, system: .reactorFixed) { file in
      let table = try await RegisteredFileTable.register(capacity: 1, on: reactor)
      let pool = try await RegisteredBufferPool.register(
        count: depth, bufferSize: 4096, on: reactor)
      var done = 0
      do {
        let registered = try await table.insert(file)
        done = await withTaskGroup(of: Int.self) { group in
          for lane in 0..<depth {
            group.addTask(executorPreference: reactor) {
              await Self.fixedLane(lane, of: benchFile, registered, pool: pool, perLane: perLane)
            }
          }
          var total = 0
          for await count in group { total += count }
          return total
        }
      }
      // The handle is gone: its slot is emptied by a job on the loop.
      while table.count > 0 { try await reactor.nop() }
      try await table.unregister()
      try await pool.unregister()
      return done
    }
  }

  /// One lane of ``randomOnFixed(_:reactor:perLane:)``: returns its full reads.
  private static func fixedLane(
    _ lane: Int, of benchFile: BenchFile, _ file: RegisteredFile, pool: RegisteredBufferPool,
    perLane: Int
  ) async -> Int {
    var random = BenchFile.Random(lane: lane)
    let blocks = benchFile.size / 4096
    guard let lease = try? await pool.next() else { return 0 }
    var result = await file.readFixed(
      into: lease, at: UInt64(random.offset(blocks: blocks) * 4096))
    var done = 0
    while result.bytesTransferred == 4096 {
      done += 1
      guard done < perLane else { break }
      let offset = UInt64(random.offset(blocks: blocks) * 4096)
      result = await file.readFixed(into: result.buffer, at: offset)
    }
    return done
  }
}
