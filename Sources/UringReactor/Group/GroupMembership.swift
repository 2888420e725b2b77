/// What a loop knows of the ``ReactorGroup`` its reactor belongs to. Set once,
/// before the loop runs its first job.
@safe
struct GroupMembership: Sendable {
  // @safe: `executor` is an unowned reference to the group, which outlives its reactors' loops.
  /// The group as a task executor: what group-path jobs run "on".
  let executor: UnownedTaskExecutor
  /// The group, to tell its own reactors from others.
  let identity: ObjectIdentifier
  /// This reactor's index in ``ReactorGroup/reactors``.
  let index: Int
  /// What the group's reactors share to balance their work.
  let scheduler: GroupScheduler
}
