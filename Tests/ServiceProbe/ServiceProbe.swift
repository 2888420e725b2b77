// A child process for the service tests (ServiceLifecycleTests): serves an
// echo on a loopback port of a two-reactor group under a ServiceGroup that
// shuts down gracefully on SIGTERM. Prints `port=N` once listening, then,
// once `ServiceGroup.run()` has returned, `ended=graceful handlers=N` (how
// many handlers had returned). Without the ServiceLifecycle trait it prints
// `unavailable` and exits.
#if ServiceLifecycle
  import Glibc
  import Logging
  import ServiceLifecycle
  import Synchronization
  import UringReactor
  import UringReactorServiceLifecycle

  let handlersReturned = Atomic<Int>(0)

  @main
  struct ServiceProbe {
    static func main() async throws {
      let group = try ReactorGroup(reactorCount: 2)
      let listener = try await GroupListener.listen(at: .loopbackIPv4(port: 0), group: group)
      let server = ReactorServersService(
        group: group, listener: listener, gracePeriod: .seconds(30)
      ) { connection in
        while let bytes = try? await connection.receive() {
          guard (try? await connection.writeAll(bytes)) != nil else { break }
        }
        // Ordering: relaxed; read after ServiceGroup.run() returned, which
        // follows every handler's return (the group was awaited).
        handlersReturned.add(1, ordering: .relaxed)
      }
      var logger = Logger(label: "service-probe")
      logger.logLevel = .critical
      let services = ServiceGroup(
        services: [server], gracefulShutdownSignals: [.sigterm], logger: logger)
      print("port=\(listener.localAddress.port ?? 0)")
      fflush(nil)
      try await services.run()
      print("ended=graceful handlers=\(handlersReturned.load(ordering: .relaxed))")
      fflush(nil)
    }
  }
#else
  @main
  struct ServiceProbe {
    static func main() {
      print("unavailable")
    }
  }
#endif
