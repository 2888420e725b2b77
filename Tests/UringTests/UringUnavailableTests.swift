import Glibc
import TestSupport
import Testing
import Uring

@Suite(.sharesProcess)
struct UringUnavailableErrorTests {
  @Test(arguments: [
    (
      UringUnavailableError.Cause.notImplemented, "does not implement io_uring (ENOSYS)",
      "CONFIG_IO_URING"
    ),
    (.disabledBySysctl(1), "disabled by kernel.io_uring_disabled=1", "io_uring_group"),
    (
      .disabledBySysctl(2), "disabled by kernel.io_uring_disabled=2",
      "sysctl -w kernel.io_uring_disabled=0"
    ),
    (.deniedBySeccomp, "denied (EPERM), most likely by a seccomp filter", "seccomp profile"),
    (.lockedMemoryLimit, "could not be locked or allocated (ENOMEM)", "RLIMIT_MEMLOCK"),
    (
      .missingFeature("IORING_FEAT_NODROP (5.5+)"), "the kernel lacks IORING_FEAT_NODROP (5.5+)",
      "Linux 6.1"
    ),
    (.invalidOptions, "rejected the ring's sizes (EINVAL)", "32768"),
    (.other(.init(rawValue: EINVAL)), "io_uring_setup failed: ", "dmesg"),
  ])
  func descriptionNamesTheCauseAndTheRemedy(
    cause: UringUnavailableError.Cause, what: String, remedyMentions: String
  ) {
    let error = UringUnavailableError(cause: cause, errno: nil)
    #expect(error.remedy.contains(remedyMentions), "remedy: \(error.remedy)")
    #expect(error.description.hasPrefix("io_uring is unavailable: "))
    #expect(error.description.contains(what), "description: \(error.description)")
    #expect(error.description.hasSuffix("; \(error.remedy)"))
    #expect("\(error)" == error.description)
    // The errno is carried along; the text does not depend on it.
    let withErrno = UringUnavailableError(cause: cause, errno: .init(rawValue: EPERM))
    #expect(withErrno.errno?.rawValue == EPERM)
    #expect(withErrno.description == error.description)
    #expect(withErrno != error)
  }

  @Test func remediesDifferForTheTwoSysctlValues() {
    let group = UringUnavailableError(cause: .disabledBySysctl(1), errno: nil)
    let everyone = UringUnavailableError(cause: .disabledBySysctl(2), errno: nil)
    #expect(group.remedy != everyone.remedy)
  }
}

/// Runs `uring-probe` as a child: the seccomp filter it installs must not touch
/// the test process.
@Suite(.sharesProcess)
struct ProbeExecutableTests {
  /// What `uring-probe --deny-io-uring <name>` should classify the refusal as.
  static func expectedCause(deniedWith name: String) -> UringUnavailableError.Cause {
    if name == "ENOSYS" { return .notImplemented }
    let sysctl = UringSupport.sysctlDisabledValue()
    return sysctl != 0 ? .disabledBySysctl(sysctl) : .deniedBySeccomp
  }

  @Test(arguments: ["EPERM", "ENOSYS"])
  func deniedIoUringIsClassified(errnoName: String) throws {
    let path = try #require(
      BuiltExecutable.path("uring-probe"),
      Comment(rawValue: BuiltExecutable.notFound("uring-probe")))
    let output = try ChildProcess.run(path, ["--deny-io-uring", errnoName])
    let cause = Self.expectedCause(deniedWith: errnoName)
    let error = UringUnavailableError(cause: cause, errno: nil)
    #expect(output.exitCode == 3, "wait status \(output.status), stdout: \(output.standardOutput)")
    #expect(output.standardOutput == "unavailable: \(cause) | \(error)\n")
  }

  @Test(.enabled(if: UringSupport.isAvailable, UringSupport.skipReason))
  func reportsSetupFeaturesAndOpcodes() throws {
    let path = try #require(
      BuiltExecutable.path("uring-probe"),
      Comment(rawValue: BuiltExecutable.notFound("uring-probe")))
    let output = try ChildProcess.run(path, [])
    #expect(output.exitCode == 0, "wait status \(output.status), stdout: \(output.standardOutput)")
    let lines = output.standardOutput.split(separator: "\n").map(String.init)
    #expect(
      lines.first { $0.hasPrefix("setup:") }?.contains("SINGLE_ISSUER, DEFER_TASKRUN") == true)
    #expect(lines.first { $0.hasPrefix("features:") }?.contains("NODROP") == true)
    #expect(lines.contains { $0.hasPrefix("opcodes:") })
    let names = Set(output.standardOutput.split(whereSeparator: { $0 == " " || $0 == "\n" }))
    #expect(["nop", "read", "write", "async_cancel"].allSatisfy { names.contains($0) })
  }

  @Test func rejectsAnInvalidErrno() throws {
    let path = try #require(
      BuiltExecutable.path("uring-probe"),
      Comment(rawValue: BuiltExecutable.notFound("uring-probe")))
    for argument in ["0", "ENOTANERRNO"] {
      let output = try ChildProcess.run(
        path, ["--deny-io-uring", argument], silenceStandardError: true)
      #expect(output.exitCode == 2, "\(argument): wait status \(output.status)")
      #expect(output.standardOutput.isEmpty)
    }
  }
}
