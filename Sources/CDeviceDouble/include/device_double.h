// CDeviceDouble: a test double for a foreign device API that borrows caller
// memory, works on it from its own thread, and reports "transfer done" later,
// either through a C callback or by making an eventfd readable.
//
// Every transfer runs on a thread of its own. It optionally waits at a gate
// the test opens, sleeps `delay_us`, reads every byte of the memory (a
// checksum), writes a pattern over it in DD_MODE_WRITE, and then completes.
// A use-after-free of the lent memory is therefore caught by ASan, and a
// missing happens-before edge by TSan.
//
// Used only by tests. Not part of the reactor.
#ifndef DEVICE_DOUBLE_H
#define DEVICE_DOUBLE_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/// Called once per transfer, on the device's thread, with the bytes
/// transferred or a negated errno. The device no longer touches the memory.
typedef void (*dd_callback)(void *user_arg, long result);

/// Holds transfers until the test opens it.
typedef struct dd_gate dd_gate;

/// An eventfd-signalled transfer: its status and its eventfd.
typedef struct dd_transfer dd_transfer;

/// What the device does with the memory.
typedef enum dd_mode {
  /// Reads every byte (a host-to-device transfer).
  DD_MODE_READ = 0,
  /// Reads every byte, then writes `pattern` over all of them (device-to-host).
  /// The memory is written even when the transfer reports a failure.
  DD_MODE_WRITE = 1,
} dd_mode;

/// How a transfer behaves. Zero-initialised: read, no delay, succeed, no gate.
struct dd_options {
  dd_mode mode;
  /// The byte written in DD_MODE_WRITE.
  unsigned char pattern;
  /// Microseconds to sleep before touching the memory.
  unsigned delay_us;
  /// Non-zero: the transfer completes with -fail_errno (after touching the memory).
  int fail_errno;
  /// Optional: wait at this gate before touching the memory.
  dd_gate *gate;
  /// Optional: where the device stores the FNV-1a checksum of the bytes it
  /// read, before it completes. Must stay valid until then.
  uint64_t *checksum_out;
};

// MARK: - Callback transfers

/// Starts a read-mode transfer of `len` bytes at `data`; calls
/// `cb(user_arg, result)` when done. The memory must stay valid until then.
/// Returns 0, or a negated errno (and `cb` is never called).
int dd_transfer_start(const void *data, size_t len, unsigned delay_us,
                      int fail_errno, dd_callback cb, void *user_arg);

/// Like dd_transfer_start, with every option. `opts` may be NULL.
int dd_transfer_start_opts(void *data, size_t len,
                           const struct dd_options *opts, dd_callback cb,
                           void *user_arg);

// MARK: - Eventfd transfers

/// Starts a read-mode transfer and stores in `*out_eventfd` a fresh eventfd
/// (EFD_NONBLOCK | EFD_CLOEXEC) to which 1 is written when it is done; the
/// memory must stay valid until then. Returns the transfer, or NULL with
/// errno set. The eventfd belongs to the transfer: dd_transfer_free closes it.
dd_transfer *dd_transfer_start_eventfd(const void *data, size_t len,
                                       unsigned delay_us, int fail_errno,
                                       int *out_eventfd);

/// Like dd_transfer_start_eventfd, with every option. `opts` may be NULL.
dd_transfer *dd_transfer_start_eventfd_opts(void *data, size_t len,
                                            const struct dd_options *opts,
                                            int *out_eventfd);

/// The bytes transferred or a negated errno once the eventfd was signalled;
/// -EINPROGRESS before.
long dd_transfer_status(const dd_transfer *transfer);

/// Waits for the transfer's thread to finish, closes its eventfd and frees it.
void dd_transfer_free(dd_transfer *transfer);

// MARK: - Gates

/// A closed gate, or NULL (errno set).
dd_gate *dd_gate_create(void);

/// Lets every transfer waiting at the gate, and every later one, through.
void dd_gate_open(dd_gate *gate);

/// How many transfers have reached the gate so far.
unsigned dd_gate_arrivals(dd_gate *gate);

/// Blocks until `count` transfers have reached the gate.
void dd_gate_wait_arrivals(dd_gate *gate, unsigned count);

/// Frees the gate. No transfer may be using it.
void dd_gate_destroy(dd_gate *gate);

// MARK: - Leak checks

/// Transfers started and not yet retired: a callback transfer retires after
/// its callback returned, an eventfd transfer when it is freed.
unsigned dd_live_transfers(void);

/// Blocks until no transfer is live.
void dd_wait_idle(void);

/// Eventfds the device created and has not closed yet.
unsigned dd_open_eventfds(void);

#ifdef __cplusplus
}
#endif

#endif
