// What the public API needs from other modules, re-exported so that a client
// writes `import UringReactor` and nothing else (and needs no dependency of
// its own on swift-system): the path, descriptor and errno types the file and
// socket APIs take and throw, and the few ring-layer types that appear in
// `ReactorOptions`, `Reactor` and `IOError`. The rest of `Uring` (the raw
// ring, which takes pointers) stays behind its own `import Uring`.
@_exported public import SystemPackage

@_exported public import struct Uring.Opcode
@_exported public import struct Uring.Probe
@_exported public import struct Uring.RingFeatures
@_exported public import struct Uring.RingOptions
@_exported public import struct Uring.RingSetup
@_exported public import struct Uring.UringUnavailableError
