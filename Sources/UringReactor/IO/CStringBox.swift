import Glibc
import SystemPackage

/// A path as a C string that an in-flight operation keeps alive (rule 1): the
/// kernel reads it when the operation starts, which may be after submission.
final class CStringBox: Sendable {
  // SAFETY: strdup'd in `init`, freed in `deinit`, which runs only after the
  // in-flight slot that retains this box has been released.
  nonisolated(unsafe) let pointer: UnsafeMutablePointer<CChar>

  init(_ path: FilePath) {
    pointer = path.withCString { strdup($0)! }
  }

  deinit {
    free(pointer)
  }
}
