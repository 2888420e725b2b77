import CLibUring
import TestSupport
import Testing
import Uring

// Every test here creates, uses and drops its ring inside one synchronous
// function, so on one thread: SINGLE_ISSUER and DEFER_TASKRUN require it.
@Suite(.enabled(if: UringSupport.isAvailable, UringSupport.skipReason), .sharesProcess)
struct RingSetupTests {
  @Test func defaultOptionsApplySingleIssuerAndDeferTaskrun() throws {
    var ring = try Ring()
    let setup = ring.setup
    #expect(setup.singleIssuer)
    #expect(setup.deferTaskrun)
    #expect(!setup.coopTaskrun, "COOP_TASKRUN is not requested when DEFER_TASKRUN applies")
    #expect(!setup.submissionQueuePolling)
    #expect(setup.registeredRingFD)
    #expect(setup.refused.isEmpty)
    #expect(setup.submissionQueueEntries == 256)
    #expect(setup.completionQueueEntries == 4096)
    #expect(setup.flags & UInt32(IORING_SETUP_SINGLE_ISSUER) != 0)
    #expect(setup.flags & UInt32(IORING_SETUP_DEFER_TASKRUN) != 0)
    #expect(
      setup.description == "SQ 256, CQ 4096, SINGLE_ISSUER, DEFER_TASKRUN, registered ring fd")
    #expect(ring.features.contains(.noDrop))
    #expect(ring.features.description.contains("NODROP"))
    #expect(ring.fileDescriptor.rawValue >= 0)

    // The ring works: one nop round trip.
    ring.prepare(.nop, userData: 42)
    #expect(ring.pendingSubmissions == 1)
    #expect(ring.submitAndWait(1) == 1)
    var completions: [Completion] = []
    #expect(ring.drainCompletions(into: &completions) == 1)
    #expect(completions == [Completion(userData: 42, result: 0, flags: 0)])
    #expect(ring.readyCompletions == 0)
    #expect(ring.pendingSubmissions == 0)
  }

  @Test func minimalOptionsApplyNoOptionalFlags() throws {
    var ring = try Ring(options: .minimal)
    let setup = ring.setup
    #expect(!setup.singleIssuer)
    #expect(!setup.deferTaskrun)
    #expect(!setup.coopTaskrun)
    #expect(!setup.submissionQueuePolling)
    #expect(!setup.registeredRingFD)
    #expect(setup.refused.isEmpty)
    #expect(setup.flags & UInt32(IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN) == 0)
    #expect(setup.description == "SQ 256, CQ 4096, no optional flags")

    ring.prepare(.nop, userData: 7)
    ring.submitAndWait(1)
    var completions: [Completion] = []
    ring.drainCompletions(into: &completions)
    #expect(completions.map(\.userData) == [7])
  }

  @Test func coopTaskrunAppliesWithoutDeferTaskrun() throws {
    var options = RingOptions()
    options.deferTaskrun = false
    let ring = try Ring(options: options)
    #expect(ring.setup.singleIssuer)
    #expect(!ring.setup.deferTaskrun)
    #expect(ring.setup.coopTaskrun)
    #expect(ring.setup.flags & UInt32(IORING_SETUP_TASKRUN_FLAG) != 0)
    #expect(ring.setup.refused.isEmpty)
  }

  @Test func kernelRoundsSizesAndPicksTwiceTheSQForTheCQ() throws {
    var options = RingOptions()
    options.submissionQueueEntries = 5
    options.completionQueueEntries = nil
    let ring = try Ring(options: options)
    #expect(ring.setup.submissionQueueEntries == 8)
    #expect(ring.setup.completionQueueEntries == 16)
    #expect(ring.setup.refused.isEmpty)
    #expect(ring.setup.flags & UInt32(IORING_SETUP_CQSIZE) == 0)
  }

  @Test func zeroSubmissionQueueEntriesIsAnOptionsError() {
    for base in [RingOptions(), RingOptions.minimal] {
      var options = base
      options.submissionQueueEntries = 0
      let error = #expect(throws: UringUnavailableError.self) { _ = try Ring(options: options) }
      #expect(error?.cause == .invalidOptions)
      #expect(error?.errno?.rawValue == EINVAL)
      #expect(error?.description.contains("sizes") == true)
    }
  }

  @Test func absurdSubmissionQueueSizeWithoutClampIsAnOptionsError() {
    // Without CQSIZE there is no CLAMP: the kernel refuses more than 32768 entries.
    var options = RingOptions()
    options.submissionQueueEntries = 1 << 20
    options.completionQueueEntries = nil
    let error = #expect(throws: UringUnavailableError.self) { _ = try Ring(options: options) }
    #expect(error?.cause == .invalidOptions)
  }

  @Test func absurdSubmissionQueueSizeWithClampIsClamped() throws {
    // CQSIZE brings CLAMP: SQ is clamped to 32768, and a CQ as large as allowed
    // (clamped to 65536 entries) keeps CQ >= SQ.
    var options = RingOptions.minimal
    options.submissionQueueEntries = UInt32.max
    options.completionQueueEntries = UInt32.max
    let ring = try Ring(options: options)
    #expect(ring.setup.submissionQueueEntries == 32768)
    #expect(ring.setup.completionQueueEntries == 65536)
    #expect(ring.setup.refused.isEmpty)
  }

  @Test func completionQueueSmallerThanSubmissionQueueIsAnOptionsError() {
    // The kernel wants CQ >= SQ: an EINVAL that stepping down flags cannot fix,
    // so no flag is given up and the error says the sizes are wrong.
    var options = RingOptions()
    options.submissionQueueEntries = 64
    options.completionQueueEntries = 8
    let error = #expect(throws: UringUnavailableError.self) { _ = try Ring(options: options) }
    #expect(error?.cause == .invalidOptions)
  }

  @Test func probeSupportsTheBasicOpcodes() throws {
    let ring = try Ring()
    let probe = ring.probe()
    for opcode in [Opcode.nop, .read, .write, .asyncCancel] {
      #expect(probe.supports(opcode), "\(opcode.name) is not supported")
      #expect(probe.supportedOpcodes.contains(opcode))
    }
    #expect(probe.lastOpcode >= Opcode.sendmsgZC.rawValue)
    #expect(try Probe.current() == probe)
  }
}
