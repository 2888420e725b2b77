import Synchronization
import UringReactor

/// The served directory, opened once on each reactor (a `File` belongs to
/// one reactor): requests open their files beneath it.
final class RootDirectories: Sendable {
  let path: String
  /// `--copy`: bodies read into memory and written (`readAll` + `writeAll`)
  /// instead of spliced, to compare the two.
  let copiesBodies: Bool
  private let opened = Mutex<[ObjectIdentifier: File]>([:])

  init(path: String, copiesBodies: Bool) {
    self.path = path
    self.copiesBodies = copiesBodies
  }

  /// The directory opened on `reactor` (the first call there opens it).
  func directory(on reactor: Reactor) async throws(IOError) -> File {
    let key = ObjectIdentifier(reactor)
    if let file = opened.withLock({ $0[key] }) { return file }
    let file = try await File.open(path, .readOnly, options: .directory, on: reactor)
    return opened.withLock { opened in
      if let existing = opened[key] { return existing }
      opened[key] = file
      return file
    }
  }
}
