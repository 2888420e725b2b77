import Dispatch
import Glibc
import SystemPackage
import UringReactor

/// `file-small-20k`: open + read whole + close of page-cached files of
/// 1-16 KiB (random sizes, fixed seed) in a tree of 100 directories of 200
/// files (20,000; with `--quick` 20 of 100), created once on the disk
/// (``SmallFileTree``), 64 files in flight. One operation is one file; the
/// files are taken in turn, round and round the tree.
///
/// Every run checks each file's size. The tree is read once untimed before
/// each run (the page cache can be dropped from outside here), and the CPU
/// time reported is the timed part's only.
struct SmallFiles: Workload {
  /// The 2,000-file tree instead of the 20,000-file one (`--quick`).
  let quick: Bool
  /// Files in flight, over all lanes.
  static let inFlight = 64
  static let maximumSize = SmallFileTree.largest

  var id: String { "file-small-20k" }
  var unit: String { "files/s" }
  var systems: [BenchSystem] { [.reactor, .reactorGroup, .defaultExecutor, .dispatch] }
  var summary: String {
    "open + read whole + close of 20,000 page-cached files of 1-16 KiB in 100 directories, "
      + "\(Self.inFlight) in flight (--quick: 2,000 files)"
  }
  var initialOperations: Int { 2_048 }
  var granularity: Int { Self.inFlight }

  func footnote(for system: BenchSystem) -> String {
    switch system {
    case .reactor:
      "one task preferring the reactor: `FileSystem.readFiles(_:maximumSize:)` of "
        + "\(Self.inFlight) files at a time (per file IORING_OP_OPENAT into a direct slot, "
        + "a linked IORING_OP_READ on the fixed file, a hard-linked IORING_OP_CLOSE; "
        + "one submission, one suspension at most, per batch)"
    case .reactorGroup:
      "the same on each reactor of a ReactorGroup of 2 pinned to 2 CPUs, one task each, "
        + "\(Self.inFlight / 2) files at a time each (half the files each)"
    case .defaultExecutor:
      "\(Self.inFlight) tasks on the default executor, each a loop of blocking "
        + "open(2) + read(2) + close(2)"
    case .dispatch:
      "\(Self.inFlight) tasks, each awaiting a continuation resumed by "
        + "`DispatchQueue.global().async { open + read + close }` per file"
    default:
      preconditionFailure("\(id) does not run \(system.id)")
    }
  }

  func run(on system: BenchSystem, operations: Int, reactor: Reactor) async throws(BenchError)
    -> Sample
  {
    let tree = try SmallFileTree.shared(quick: quick)
    tree.warm()
    let cpuBefore = CPUTime.process()
    let clock = ContinuousClock()
    let start = clock.now
    let read: Int
    switch system {
    case .reactor:
      read = try await Self.onReactors([reactor], tree: tree, operations: operations)
    case .reactorGroup:
      let group = try BenchGroup.shared.get()
      read = try await Self.onReactors(group.reactors, tree: tree, operations: operations)
    case .defaultExecutor:
      read = try await Self.lanes(operations: operations) { index throws(BenchError) in
        try tree.blockingRead(index % tree.count)
      }
    case .dispatch:
      read = try await Self.lanes(operations: operations) { index throws(BenchError) in
        // SAFETY: the continuation is resumed exactly once, by the job.
        let outcome = await unsafe withUnsafeContinuation {
          (continuation: UnsafeContinuation<Result<Void, BenchError>, Never>) in
          DispatchQueue.global().async {
            unsafe continuation.resume(
              returning: Result { () throws(BenchError) in
                try tree.blockingRead(index % tree.count)
              })
          }
        }
        try outcome.get()
      }
    default:
      preconditionFailure("\(id) does not run \(system.id)")
    }
    let elapsed = start.duration(to: clock.now)
    let cpu = CPUTime.process() - cpuBefore
    guard read == operations else {
      throw BenchError("\(id) \(system.id): expected \(operations) files, read \(read)")
    }
    return Sample(operations: read, elapsed: elapsed, cpu: cpu)
  }

  /// One task per reactor, preferring it, each reading the files
  /// `lane, lane + reactors, ...` in batches of `inFlight / reactors`.
  private static func onReactors(_ reactors: [Reactor], tree: SmallFileTree, operations: Int)
    async throws(BenchError) -> Int
  {
    let lanes = reactors.count
    let batchSize = inFlight / lanes
    let counts = await withTaskGroup(of: Result<Int, BenchError>.self) { group in
      for (lane, reactor) in reactors.enumerated() {
        group.addTask(executorPreference: reactor) {
          let fileSystem = FileSystem(on: reactor)
          var batch: [FilePath] = []
          var indices: [Int] = []
          batch.reserveCapacity(batchSize)
          var done = 0
          var index = lane
          while index < operations {
            batch.removeAll(keepingCapacity: true)
            indices.removeAll(keepingCapacity: true)
            while batch.count < batchSize, index < operations {
              batch.append(tree.paths[index % tree.count])
              indices.append(index % tree.count)
              index += lanes
            }
            let results = await fileSystem.readFiles(batch, maximumSize: maximumSize)
            for (file, result) in zip(indices, results) {
              switch result {
              case .success(let buffer) where buffer.count == tree.sizes[file]:
                done += 1
              case .success(let buffer):
                return .failure(
                  BenchError(
                    "\(tree.paths[file]): read \(buffer.count) bytes, not \(tree.sizes[file])"))
              case .failure(let error):
                return .failure(BenchError("\(tree.paths[file]): \(error)"))
              }
            }
          }
          return .success(done)
        }
      }
      return await group.reduce(into: []) { $0.append($1) }
    }
    return try sum(counts)
  }

  /// `inFlight` tasks on the default executor, lane `i` reading the files
  /// `i, i + inFlight, ...`.
  @concurrent
  private static func lanes(
    operations: Int, _ read: @escaping @Sendable (Int) async throws(BenchError) -> Void
  ) async throws(BenchError) -> Int {
    let counts = await withTaskGroup(of: Result<Int, BenchError>.self) { group in
      for lane in 0..<inFlight {
        group.addTask {
          var done = 0
          for index in stride(from: lane, to: operations, by: inFlight) {
            do throws(BenchError) { try await read(index) } catch { return .failure(error) }
            done += 1
          }
          return .success(done)
        }
      }
      return await group.reduce(into: []) { $0.append($1) }
    }
    return try sum(counts)
  }

  /// The files the lanes read, or the first lane's error.
  private static func sum(_ counts: [Result<Int, BenchError>]) throws(BenchError) -> Int {
    var total = 0
    for count in counts { total += try count.get() }
    return total
  }
}
