#include "cb_ring.h"

#include <errno.h>
#include <string.h>

int cb_ring_init(struct io_uring *ring, unsigned entries, uint32_t *flags) {
  static const unsigned step_down[] = {
      IORING_SETUP_DEFER_TASKRUN,
      IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN,
  };
  unsigned wanted = IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN |
                    IORING_SETUP_SUBMIT_ALL | IORING_SETUP_CQSIZE;
  for (unsigned attempt = 0;; attempt++) {
    struct io_uring_params params;
    memset(&params, 0, sizeof params);
    params.flags = wanted;
    params.cq_entries = entries * 2;
    int result = io_uring_queue_init_params(entries, ring, &params);
    if (result == 0) {
      // A registered ring fd saves an fdget per io_uring_enter; optional.
      (void)io_uring_register_ring_fd(ring);
      *flags = params.flags;
      return 0;
    }
    if (result != -EINVAL || attempt >= sizeof step_down / sizeof step_down[0]) {
      return result;
    }
    wanted &= ~step_down[attempt];
  }
}
