/// A job waiting to run on a loop, and which executor path it came through.
struct ReadyJob {
  let job: UnownedJob
  /// `true` when enqueued through the `TaskExecutor` path (a task preferring the
  /// reactor); `false` for the `SerialExecutor` path (an actor pinned to it).
  let viaTaskExecutor: Bool
}
