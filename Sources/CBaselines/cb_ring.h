// Internal helpers shared by the C baselines (not part of the public header).
#ifndef CB_RING_H
#define CB_RING_H

// <features.h> first: liburing.h defines _XOPEN_SOURCE/_GNU_SOURCE, which on a
// clean build breaks the Glibc module's fd_set (swiftlang/swift#69311).
#include <features.h>
#include <liburing.h>
#include <stdint.h>
#include <time.h>

#include "c_baselines.h"

/// Initialises `ring` with `entries` SQEs (CQ twice that), asking for
/// SINGLE_ISSUER | DEFER_TASKRUN | SUBMIT_ALL and stepping down (DEFER_TASKRUN,
/// then SINGLE_ISSUER) when the kernel refuses them, then registers the ring
/// fd. Must be called on the thread that will submit. Returns 0 or a negative
/// errno; `*flags` gets the set-up flags in force.
int cb_ring_init(struct io_uring *ring, unsigned entries, uint32_t *flags);

/// CLOCK_MONOTONIC in nanoseconds.
static inline uint64_t cb_now_ns(void) {
  struct timespec now;
  clock_gettime(CLOCK_MONOTONIC, &now);
  return (uint64_t)now.tv_sec * 1000000000u + (uint64_t)now.tv_nsec;
}

/// The smallest power of two >= `value` (at least 1).
static inline unsigned cb_pow2(unsigned value) {
  unsigned result = 1;
  while (result < value) result <<= 1;
  return result;
}

/// A cb_result that failed with `error` (a positive errno).
static inline cb_result cb_failure(int error) {
  cb_result result = {0};
  result.error = error;
  return result;
}

#endif
