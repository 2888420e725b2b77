import Glibc
import Testing

@testable import UringReactor

/// Why `O_DIRECT` cannot be tested here, or `nil`: the scratch directories
/// (``ScratchDirectory``, under /var/tmp) may sit on a file system that
/// refuses it (tmpfs before Linux 6.6, some overlay set-ups).
let directIORefusal: String? = {
  let path = "/var/tmp/uring-direct-io-probe-\(getpid())"
  let fd = open(path, O_RDWR | O_CREAT | File.directFlag, 0o600)
  let error = errno
  unlink(path)
  guard fd >= 0 else {
    return "/var/tmp refuses O_DIRECT (open: \(String(cString: strerror(error))))"
  }
  close(fd)
  return nil
}()

extension Trait where Self == ConditionTrait {
  /// Skips the test, with the reason, when /var/tmp refuses `O_DIRECT`.
  static var needsDirectIO: Self {
    .enabled {
      if let directIORefusal {
        print("skipping: \(directIORefusal)")
        return false
      }
      return true
    }
  }
}
