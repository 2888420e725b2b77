import Glibc

/// Reads `fd` until end of file (retrying `EINTR`).
public func readToEnd(_ fd: CInt) -> [UInt8] {
  var bytes: [UInt8] = []
  var chunk = [UInt8](repeating: 0, count: 65_536)
  while true {
    let count = unsafe chunk.withUnsafeMutableBytes { unsafe read(fd, $0.baseAddress, $0.count) }
    if count > 0 {
      bytes += chunk[..<count]
    } else if count == 0 || errno != EINTR {
      return bytes
    }
  }
}

/// The whole content of a small file, or `nil` if it cannot be opened.
public func readSmallFile(_ path: String) -> String? {
  let fd = unsafe open(path, O_RDONLY | O_CLOEXEC)
  guard fd >= 0 else { return nil }
  defer { close(fd) }
  return String(decoding: readToEnd(fd), as: UTF8.self)
}

/// This process's environment as it started (`environ` itself cannot be read
/// in Swift 6 mode), for child processes: a nil `envp` would give them none,
/// and sanitizer options must reach them. The caller frees each entry.
public func inheritedEnvironment() -> [UnsafeMutablePointer<CChar>?] {
  let fd = unsafe open("/proc/self/environ", O_RDONLY | O_CLOEXEC)
  guard fd >= 0 else { return unsafe [nil] }
  defer { close(fd) }
  let entries = unsafe readToEnd(fd).split(separator: 0).map { entry in
    unsafe strdup(String(decoding: entry, as: UTF8.self))
  }
  return unsafe entries + [nil]
}
