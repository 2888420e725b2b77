import Glibc
import UringReactor

/// Facts about the machine the figures were measured on.
struct Machine: Sendable {
  let processors: Int
  let kernel: String
  let swift: String
  let ring: String
  let build: String

  init(reactor: Reactor) {
    processors = Int(sysconf(Int32(_SC_NPROCESSORS_ONLN)))
    var names = utsname()
    if unsafe uname(&names) == 0 {
      kernel = unsafe withUnsafeBytes(of: &names.release) { raw in
        unsafe String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
      }
    } else {
      kernel = "unknown"
    }
    swift = Machine.compilerVersion
    ring = reactor.setup.description
    #if DEBUG
      build = "DEBUG build: figures are meaningless, build with -c release"
    #else
      build = "release build"
    #endif
  }

  /// The compiler that built this binary (compile-time, no subprocess).
  static var compilerVersion: String {
    #if compiler(>=6.4)
      ">= 6.4"
    #elseif compiler(>=6.3.1)
      "6.3.1"
    #elseif compiler(>=6.3)
      "6.3"
    #else
      "< 6.3"
    #endif
  }
}
