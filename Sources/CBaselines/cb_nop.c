#include "cb_ring.h"

#include <errno.h>

cb_result cb_nop(uint32_t batch, uint64_t operations) {
  if (batch == 0 || batch > 4096) return cb_failure(EINVAL);
  struct io_uring ring;
  uint32_t flags = 0;
  int status = cb_ring_init(&ring, cb_pow2(batch < 8 ? 8 : batch), &flags);
  if (status < 0) return cb_failure(-status);

  cb_result result = {0};
  result.ring_flags = flags;
  uint64_t start = cb_now_ns();
  while (result.operations < operations && result.error == 0) {
    for (uint32_t i = 0; i < batch; i++) {
      struct io_uring_sqe *sqe = io_uring_get_sqe(&ring);
      io_uring_prep_nop(sqe);
      io_uring_sqe_set_data64(sqe, i);
    }
    // One io_uring_enter submits the batch and waits for all of its CQEs.
    int submitted = io_uring_submit_and_wait(&ring, batch);
    if (submitted < 0) {
      result.error = -submitted;
      break;
    }
    uint32_t reaped = 0;
    while (reaped < batch) {
      unsigned head, seen = 0;
      struct io_uring_cqe *cqe;
      io_uring_for_each_cqe(&ring, head, cqe) {
        if (cqe->res < 0 && result.error == 0) result.error = -cqe->res;
        seen++;
      }
      io_uring_cq_advance(&ring, seen);
      reaped += seen;
      if (reaped < batch) {
        struct io_uring_cqe *ignored;
        int waited = io_uring_wait_cqe_nr(&ring, &ignored, batch - reaped);
        if (waited < 0) {
          result.error = -waited;
          break;
        }
      }
    }
    result.operations += reaped;
  }
  result.nanoseconds = cb_now_ns() - start;
  io_uring_queue_exit(&ring);
  return result;
}
