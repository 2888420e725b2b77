#if ServiceLifecycle
  import Glibc
  import TestSupport
  import Testing

  @testable import UringReactor

  /// `ReactorServersService` under a `ServiceGroup`, in a child process
  /// (`service-probe`): `SIGTERM` drains the servers (an idle keep-alive
  /// connection ends at once) and `ServiceGroup.run()` returns normally.
  @Suite(.requiresUring, .sharesProcess)
  struct ServiceLifecycleTests {
    @Test func sigtermDrainsTheServersAndTheServiceGroupReturns() throws {
      let path = try #require(
        BuiltExecutable.path("service-probe"),
        Comment(rawValue: BuiltExecutable.notFound("service-probe")))
      let child = try ChildProcess(path, [])
      let line = child.readLine() ?? ""
      let port = try #require(line.hasPrefix("port=") ? UInt16(line.dropFirst(5)) : nil, "\(line)")

      // A keep-alive client, idle after one echo.
      let client = try RawSocket(connectingTo: .loopbackIPv4(port: port))
      try client.send(Array("hi".utf8))
      #expect(try client.receive(2) == Array("hi".utf8))

      child.terminate()
      // The drain ends the idle connection (end of stream, no reply)...
      #expect(try client.receive(1).isEmpty)
      // ...and the service group returns once its handler has.
      #expect(child.readLine() == "ended=graceful handlers=1")
      #expect(child.wait() == 0, "exited normally, not killed by the signal")
    }
  }
#endif
