// uring-probe: prints what io_uring supports on this machine.
//
//   uring-probe                               setup, features and opcodes
//   uring-probe --deny-io-uring EPERM|ENOSYS|<number>
//       first installs a seccomp filter that makes io_uring_setup(2) fail with
//       that errno (as a container's profile would), then tries a ring.
//
// Exit status: 0 io_uring works, 2 usage or seccomp error, 3 io_uring unavailable
// (then stdout has one line: `unavailable: <cause> | <description>`).
import CLibUring
import Glibc
import Uring

let errnoByName: [String: Int32] = [
  "EPERM": EPERM, "ENOSYS": ENOSYS, "EACCES": EACCES, "ENOMEM": ENOMEM,
  "EINVAL": EINVAL, "EFAULT": EFAULT, "EAGAIN": EAGAIN, "EBUSY": EBUSY,
  "EOPNOTSUPP": EOPNOTSUPP, "ENODEV": ENODEV,
]

func fail(_ message: String) -> Never {
  var text = "uring-probe: \(message)\n"
  text.withUTF8 { _ = unsafe write(STDERR_FILENO, $0.baseAddress, $0.count) }
  exit(2)
}

let usage = "usage: uring-probe [--deny-io-uring <errno name or number>]"
var arguments = CommandLine.arguments.dropFirst()
while let argument = arguments.popFirst() {
  switch argument {
  case "--deny-io-uring":
    guard let value = arguments.popFirst() else { fail(usage) }
    // 0 is refused: the filter would make io_uring_setup "succeed" with fd 0.
    guard let code = errnoByName[value.uppercased()] ?? Int32(value), (1...4095).contains(code)
    else { fail("not an errno name or number in 1...4095: \(value)") }
    if clu_deny_io_uring_setup(code) != 0 {
      fail(unsafe "cannot install the seccomp filter: \(String(cString: strerror(errno)))")
    }
  case "-h", "--help":
    print(usage)
    exit(0)
  default:
    fail("unknown argument \(argument)\n\(usage)")
  }
}

func makeRing() -> Ring {
  do {
    return try Ring()
  } catch {
    print("unavailable: \(error.cause) | \(error)")
    exit(3)
  }
}

func report(_ ring: borrowing Ring) {
  let probe = ring.probe()
  let supported = probe.supportedOpcodes
  let unsupported = Opcode.known.filter { !probe.supports($0) }
  print("setup:    \(ring.setup)")
  print("features: \(ring.features) (raw 0x\(String(ring.features.rawValue, radix: 16)))")
  print(
    "opcodes:  \(supported.count) of \(Opcode.known.count) known supported"
      + " (the kernel knows opcodes up to #\(probe.lastOpcode))")
  print("  " + supported.map(\.name).joined(separator: " "))
  if !unsupported.isEmpty {
    print("unsupported: " + unsupported.map(\.name).joined(separator: " "))
  }
}

report(makeRing())
