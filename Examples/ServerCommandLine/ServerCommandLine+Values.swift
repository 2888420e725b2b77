public import UringReactor

extension ServerCommandLine {
  /// A command line a server parsed itself (one with arguments of its own,
  /// such as `static-server`'s directory), to ``serve(_:)`` with.
  public init(name: String, address: SocketAddress, connectionLimit: Int?, reactorCount: Int?) {
    self.name = name
    self.address = address
    self.connectionLimit = connectionLimit
    self.reactorCount = reactorCount
  }
}
