extension ReactorGroup {
  /// The sum of every reactor's ``Reactor/statistics``, plus the jobs
  /// waiting in the ``offloadPool``.
  ///
  /// Each reactor's part is copied on its own loop thread, one after
  /// another: the sum is not one instant across the group, but each part is
  /// consistent. Thread-safety: any task. Never cancelled, never throws.
  public var statistics: ReactorStatistics {
    get async {
      var total = ReactorStatistics()
      for reactor in reactors { total = total + (await reactor.statistics) }
      total.offloadQueueDepth = offloadPool.pendingCount
      return total
    }
  }

  /// Each reactor's ``Reactor/statistics``, in the group's order.
  public var statisticsByReactor: [ReactorStatistics] {
    get async {
      var parts: [ReactorStatistics] = []
      for reactor in reactors { parts.append(await reactor.statistics) }
      return parts
    }
  }
}
