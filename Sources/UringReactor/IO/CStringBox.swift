import Glibc
public import SystemPackage
public import Uring

/// A path as a C string that an in-flight operation keeps alive (rule 1): the
/// kernel reads it when the operation starts, which may be after submission.
@safe
final class CStringBox: Sendable {
  // @safe: it owns its NUL-terminated copy (freed in deinit); the pointer is lent only to operations
  // that retain the box.
  // SAFETY: strdup'd in `init`, freed in `deinit`, which runs only after the
  // in-flight slot that retains this box has been released.
  nonisolated(unsafe) let pointer: UnsafeMutablePointer<CChar>

  init(_ path: FilePath) {
    unsafe pointer = unsafe path.withCString { unsafe strdup($0)! }
  }

  deinit {
    unsafe free(pointer)
  }
}

/// A path the file APIs take (``File/open(_:_:options:permissions:relativeTo:on:)``,
/// ``FileSystem``): a `FilePath`, or text (`String`, `Substring`), which is
/// checked before anything reaches the kernel.
///
/// A C path ends at its first NUL byte, so text holding one would name
/// another file (`"/tmp/d/abc\0def"` would be `/tmp/d/abc`). Text is refused
/// with ``IOError`` `EINVAL` (``IOError/Kind/invalidRequest(_:)``), naming
/// the operation and the path (its NUL written `\0`). A `FilePath` cannot
/// hold a NUL: swift-system's `FilePath(String)` (and a string literal typed
/// as `FilePath`) already stops at the first one, before any API sees it.
/// Pass untrusted text itself, not a `FilePath` made from it, to have it checked.
public protocol FilePathConvertible: Sendable {
  /// The path, or ``IOError`` `EINVAL` for `operation` if it cannot be a C string.
  func filePath(for operation: Opcode) throws(IOError) -> FilePath
}

extension FilePath: FilePathConvertible {
  /// The path itself (a `FilePath` never holds a NUL byte).
  public func filePath(for operation: Opcode) throws(IOError) -> FilePath { self }
}

extension String: FilePathConvertible {
  /// The text as a path; ``IOError`` `EINVAL` if it holds a NUL byte.
  public func filePath(for operation: Opcode) throws(IOError) -> FilePath {
    try FilePath.checking(self, for: operation)
  }
}

extension Substring: FilePathConvertible {
  /// The text as a path; ``IOError`` `EINVAL` if it holds a NUL byte.
  public func filePath(for operation: Opcode) throws(IOError) -> FilePath {
    try FilePath.checking(self, for: operation)
  }
}

extension FilePath {
  /// `text` as a path, refused with `EINVAL` (naming `operation` and the
  /// text, its NUL bytes written `\0`) if it holds a NUL byte: the one place
  /// text becomes a path for the kernel.
  static func checking(_ text: some StringProtocol, for operation: Opcode) throws(IOError)
    -> FilePath
  {
    guard let nul = text.utf8.firstIndex(of: 0) else { return FilePath(String(text)) }
    let offset = text.utf8.distance(from: text.utf8.startIndex, to: nul)
    let shown = text.split(separator: "\0", omittingEmptySubsequences: false).joined(
      separator: "\\0")
    throw IOError(
      .invalidRequest("a path cannot hold a NUL byte (found at byte \(offset))"),
      operation: operation, path: FilePath(shown))
  }
}
