/// A job waiting to run on a loop, and which executor it must run "on".
struct ReadyJob {
  let job: UnownedJob
  let kind: Kind

  /// Which executor a job came through decides what it runs on; the runtime
  /// re-enqueues a job that runs on anything else (see `runReadyJobs`).
  enum Kind: UInt8 {
    /// An actor pinned to this reactor (the `SerialExecutor` path).
    case serial
    /// A task that prefers this reactor (the `TaskExecutor` path).
    case task
    /// A task that prefers this reactor's ``ReactorGroup`` (or has no
    /// preference, when the group is the process's default executor).
    case group
    /// A delayed job whose time has come (`Task.sleep`'s wake-up): it runs as
    /// on the default executor, which is what the runtime expects of it.
    case wake
  }
}
