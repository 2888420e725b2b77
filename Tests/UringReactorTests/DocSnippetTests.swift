import Glibc
import TestSupport
import Testing
import UringReactor

/// The DocC articles' code is the code of `DocSnippets.swift`, which compiles
/// with this target: every `<!-- snippet: NAME -->` block of an article equals
/// the region `NAME` there, and the snippets run.
@Suite(.requiresUring, .sharesProcess)
struct DocSnippetTests {
  @Test func everyArticleBlockIsACompiledSnippet() throws {
    let regions = try Self.regions()
    var checked = 0
    for article in try Self.articles() {
      for (name, block) in try Self.blocks(of: article) {
        #expect(regions[name] != nil, "\(article): no snippet '\(name)' in DocSnippets.swift")
        #expect(
          regions[name] == block,
          "\(article): the block of '\(name)' differs from DocSnippets.swift")
        checked += 1
      }
    }
    #expect(checked >= regions.count, "some snippets appear in no article")
  }

  @Test func theSnippetsRun() async throws {
    try await DocSnippets.gettingStarted()
    var template = Array("/tmp/uring-doc-snippets-XXXXXX".utf8CString)
    guard mkdtemp(&template) != nil else { throw DocFileError(path: "mkdtemp") }
    let directory = FilePath(
      String(decoding: template.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self))
    defer { removeTreeBlocking(directory) }
    try await withReactor { reactor in
      #expect(
        try await DocSnippets.files(directory: directory, reactor: reactor)
          == Array("hello, io_uring\n".utf8))
      #expect(try await DocSnippets.echo(reactor: reactor) == Array("ping".utf8))
      let refused = try await DocSnippets.memory(reactor: reactor)
      #expect(refused?.kind == .memoryBusy(MemoryAccessError(.kernelWriting)))
      let journal = DocSnippets.Journal(reactor: reactor)
      try await journal.append("one", to: directory.appending("journal"))
      let file = try await File.open(directory.appending("hello.txt"), .readOnly, on: reactor)
      #expect(await DocSnippets.batch(file: file) == 16)
      try await file.close()
    }
  }

  // MARK: Reading the article and snippet files

  private static let testsDirectory = #filePath.split(
    separator: "/", omittingEmptySubsequences: false
  ).dropLast().joined(separator: "/")

  private static var catalog: String {
    testsDirectory + "/../../Sources/UringReactor/UringReactor.docc"
  }

  private static func read(_ path: String) throws -> String {
    guard let file = fopen(path, "r") else { throw DocFileError(path: path) }
    defer { fclose(file) }
    var bytes: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 65536)
    while true {
      let count = fread(&chunk, 1, chunk.count, file)
      if count <= 0 { break }
      bytes += chunk[..<count]
    }
    return String(decoding: bytes, as: UTF8.self)
  }

  private static func articles() throws -> [String] {
    guard let directory = opendir(catalog) else { throw DocFileError(path: catalog) }
    defer { closedir(directory) }
    var names: [String] = []
    while let entry = readdir(directory) {
      let name = withUnsafeBytes(of: entry.pointee.d_name) {
        String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self)
      }
      if name.hasSuffix(".md") { names.append(catalog + "/" + name) }
    }
    return names.sorted()
  }

  /// The regions of DocSnippets.swift, dedented, by name.
  static func regions() throws -> [String: String] {
    let lines = try read(testsDirectory + "/DocSnippets.swift").split(
      separator: "\n", omittingEmptySubsequences: false)
    var regions: [String: String] = [:]
    var name: String?
    var body: [Substring] = []
    for line in lines {
      let trimmed = line.drop { $0 == " " }
      if trimmed.hasPrefix("// snippet: ") {
        name = String(trimmed.dropFirst("// snippet: ".count))
        body = []
      } else if trimmed == "// end-snippet", let current = name {
        let indent = body.filter { !$0.isEmpty }.map { $0.prefix { $0 == " " }.count }.min() ?? 0
        regions[current] = body.map { String($0.dropFirst(min(indent, $0.count))) }
          .joined(separator: "\n")
        name = nil
      } else if name != nil {
        body.append(line)
      }
    }
    return regions
  }

  /// The `swift` code blocks that follow `<!-- snippet: NAME -->` in `article`.
  static func blocks(of article: String) throws -> [(String, String)] {
    let lines = try read(article).split(separator: "\n", omittingEmptySubsequences: false)
    var blocks: [(String, String)] = []
    var index = 0
    while index < lines.count {
      let line = lines[index]
      index += 1
      guard line.hasPrefix("<!-- snippet: "), line.hasSuffix(" -->") else { continue }
      let name = String(line.dropFirst("<!-- snippet: ".count).dropLast(" -->".count))
      guard index < lines.count, lines[index] == "```swift" else { continue }
      var body: [Substring] = []
      index += 1
      while index < lines.count, lines[index] != "```" {
        body.append(lines[index])
        index += 1
      }
      blocks.append((name, body.joined(separator: "\n")))
    }
    return blocks
  }
}

private struct DocFileError: Error, CustomStringConvertible {
  let path: String
  var description: String { "cannot read \(path)" }
}
