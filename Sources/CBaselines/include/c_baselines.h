// CBaselines: plain C over liburing, the physical limit on this machine.
//
// uring-bench runs these as the system `c-liburing`, next to the reactor, to
// show how far each Swift figure is from what the same kernel interface gives
// a C loop with no runtime in between. Every loop sets up first (ring, memory,
// connections: not timed), then times only its steady-state loop with
// CLOCK_MONOTONIC and reports it in a `cb_result`.
//
// Rings use IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN and a
// registered ring fd when the kernel accepts them (stepping down otherwise, as
// the reactor does), and reap completions in batches.
//
// Thread-safety: each call owns its ring and runs on the calling thread; the
// echo server runs on a thread of its own. Nothing here is shared between calls.
#ifndef C_BASELINES_H
#define C_BASELINES_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/// What one timed loop did.
typedef struct cb_result {
  /// Operations completed in the timed loop (nops, reads, echoed messages).
  uint64_t operations;
  /// Bytes moved by those operations (reads: bytes read; echo: bytes echoed
  /// back to the client); 0 for nops.
  uint64_t bytes;
  /// Wall time of the timed loop, in nanoseconds.
  uint64_t nanoseconds;
  /// 0 on success, else a positive errno (the first failure seen). When set,
  /// `operations` counts what completed before it and is not a figure.
  int32_t error;
  /// The ring set-up flags actually in force (IORING_SETUP_*).
  uint32_t ring_flags;
} cb_result;

/// `operations` IORING_OP_NOPs, `batch` per io_uring_enter (submit `batch`
/// SQEs and wait for their `batch` CQEs, reap them, repeat). `operations` is
/// rounded up to a multiple of `batch`. batch 1 is the cost of one round trip
/// through the kernel; batch 256 is the ring's throughput limit.
cb_result cb_nop(uint32_t batch, uint64_t operations);

/// `operations` reads of `block_size` bytes (4096 for the usual figure) at
/// random `block_size`-aligned offsets in [0, file_size) of `fd`, with
/// `queue_depth` reads in flight (1, 32, 128...). Each completion is replaced
/// by a new read before the next io_uring_enter. Offsets stay below the last
/// whole block, so a short read is an error (EIO); the file must be at least
/// `block_size` bytes. `seed` picks the offset sequence (xorshift64).
cb_result cb_random_reads(int32_t fd, uint64_t file_size, uint32_t block_size,
                          uint32_t queue_depth, uint64_t operations, uint64_t seed);

/// `operations` sequential reads of `chunk_size` bytes (1 MiB for the usual
/// figure) from offset 0 of `fd`, `queue_depth` in flight, wrapping around at
/// to offset 0 before a chunk would pass the end (`file_size` >= `chunk_size`).
cb_result cb_sequential_reads(int32_t fd, uint64_t file_size, uint32_t chunk_size,
                              uint32_t queue_depth, uint64_t operations);

/// 1 if `path` is on a tmpfs (memory, where O_DIRECT reaches no device), 0 if
/// not, a negative errno if statfs(2) fails. (Not a loop: uring-bench uses it
/// to keep its O_DIRECT file on a disk.)
int32_t cb_is_tmpfs(const char *path);

/// A TCP echo server on its own thread, all I/O through one io_uring:
/// multishot accept, multishot recv into a provided-buffer ring (buffer group
/// 0, `buffer_count` buffers of `buffer_size` bytes), and a send of each
/// received chunk back from that same buffer, which returns to the ring when
/// the send completes. Sockets have TCP_NODELAY.
typedef struct cb_echo_server cb_echo_server;

/// Starts the server listening on 127.0.0.1:`port` (0: any free port; read it
/// back with cb_echo_server_port). Returns NULL and sets `*error` (a positive
/// errno) on failure. `buffer_count` must be a power of two (e.g. 256);
/// `buffer_size` e.g. 4096.
cb_echo_server *cb_echo_server_start(uint16_t port, uint32_t buffer_count,
                                     uint32_t buffer_size, int32_t *error);

/// The port the server listens on.
uint16_t cb_echo_server_port(const cb_echo_server *server);

/// Bytes the server has echoed so far (relaxed; for checks after a run).
uint64_t cb_echo_server_bytes(const cb_echo_server *server);

/// The first errno the server thread hit, or 0.
int32_t cb_echo_server_error(const cb_echo_server *server);

/// Stops the server (wakes its ring through an eventfd), joins its thread,
/// closes every socket and frees it. Connections still open are closed.
void cb_echo_server_stop(cb_echo_server *server);

/// An io_uring echo client: opens `connections` TCP connections to
/// 127.0.0.1:`port` (not timed), then each connection sends a
/// `message_size`-byte message and waits for all of it to come back before
/// sending the next, until `messages` round trips completed in all (rounded up
/// to a multiple of `connections`). Every echoed byte is checked. `operations`
/// counts round trips.
cb_result cb_echo_client(uint16_t port, uint32_t connections, uint32_t message_size,
                         uint64_t messages);

/// The whole C echo: cb_echo_server_start on port 0, cb_echo_client against
/// it, cb_echo_server_stop. The result is the client's (a server failure
/// becomes its error).
cb_result cb_echo(uint32_t connections, uint32_t message_size, uint64_t messages);

#ifdef __cplusplus
}
#endif

#endif
