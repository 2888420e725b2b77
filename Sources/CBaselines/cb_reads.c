#include "cb_ring.h"

#include <errno.h>
#include <stdlib.h>
#include <sys/vfs.h>

#ifndef TMPFS_MAGIC
#define TMPFS_MAGIC 0x01021994
#endif

/// Keeps `queue_depth` reads of `size` bytes in flight until `operations`
/// completed; `next_offset` gives each new read's offset. A read that returns
/// fewer than `size` bytes (or an error) stops the loop with that error.
typedef uint64_t (*cb_next_offset)(void *state);

static cb_result cb_reads(int32_t fd, uint32_t size, uint32_t queue_depth,
                          uint64_t operations, cb_next_offset next_offset, void *state) {
  if (size == 0 || queue_depth == 0 || queue_depth > 4096) return cb_failure(EINVAL);
  struct io_uring ring;
  uint32_t flags = 0;
  int status = cb_ring_init(&ring, cb_pow2(queue_depth), &flags);
  if (status < 0) return cb_failure(-status);
  unsigned char *buffers = NULL;
  if (posix_memalign((void **)&buffers, 4096, (size_t)size * queue_depth) != 0) {
    io_uring_queue_exit(&ring);
    return cb_failure(ENOMEM);
  }

  cb_result result = {0};
  result.ring_flags = flags;
  uint64_t issued = 0;
  uint64_t start = cb_now_ns();
  // Prime: one read per slot; slot i reads into buffer i.
  for (uint32_t slot = 0; slot < queue_depth && issued < operations; slot++, issued++) {
    struct io_uring_sqe *sqe = io_uring_get_sqe(&ring);
    io_uring_prep_read(sqe, fd, buffers + (size_t)slot * size, size, next_offset(state));
    io_uring_sqe_set_data64(sqe, slot);
  }
  while (result.operations < operations && result.error == 0) {
    // Submits the replacements prepared below and waits for one CQE.
    int submitted = io_uring_submit_and_wait(&ring, 1);
    if (submitted < 0) {
      result.error = -submitted;
      break;
    }
    unsigned head, seen = 0;
    struct io_uring_cqe *cqe;
    io_uring_for_each_cqe(&ring, head, cqe) {
      seen++;
      if (cqe->res != (int)size) {
        if (result.error == 0) result.error = cqe->res < 0 ? -cqe->res : EIO;
        continue;
      }
      result.operations++;
      result.bytes += size;
      if (issued < operations) {
        uint64_t slot = cqe->user_data;
        struct io_uring_sqe *sqe = io_uring_get_sqe(&ring);
        io_uring_prep_read(sqe, fd, buffers + (size_t)slot * size, size, next_offset(state));
        io_uring_sqe_set_data64(sqe, slot);
        issued++;
      }
    }
    io_uring_cq_advance(&ring, seen);
  }
  result.nanoseconds = cb_now_ns() - start;
  // Tearing the ring down cancels and waits for what is still in flight (after
  // an error) before the buffers go.
  io_uring_queue_exit(&ring);
  free(buffers);
  return result;
}

typedef struct {
  uint64_t state;
  uint64_t blocks;
  uint32_t block_size;
} cb_random_state;

static uint64_t cb_random_offset(void *opaque) {
  cb_random_state *random = opaque;
  // xorshift64: cheap and good enough to defeat readahead.
  uint64_t x = random->state;
  x ^= x << 13;
  x ^= x >> 7;
  x ^= x << 17;
  random->state = x;
  return (x % random->blocks) * random->block_size;
}

cb_result cb_random_reads(int32_t fd, uint64_t file_size, uint32_t block_size,
                          uint32_t queue_depth, uint64_t operations, uint64_t seed) {
  if (block_size == 0 || file_size < block_size) return cb_failure(EINVAL);
  cb_random_state state = {seed ? seed : 0x9E3779B97F4A7C15u, file_size / block_size, block_size};
  return cb_reads(fd, block_size, queue_depth, operations, cb_random_offset, &state);
}

typedef struct {
  uint64_t next;
  uint64_t file_size;
  uint32_t chunk_size;
} cb_sequential_state;

static uint64_t cb_sequential_offset(void *opaque) {
  cb_sequential_state *sequential = opaque;
  uint64_t offset = sequential->next;
  sequential->next += sequential->chunk_size;
  if (sequential->next + sequential->chunk_size > sequential->file_size) sequential->next = 0;
  return offset;
}

cb_result cb_sequential_reads(int32_t fd, uint64_t file_size, uint32_t chunk_size,
                              uint32_t queue_depth, uint64_t operations) {
  if (chunk_size == 0 || file_size < chunk_size) return cb_failure(EINVAL);
  cb_sequential_state state = {0, file_size, chunk_size};
  return cb_reads(fd, chunk_size, queue_depth, operations, cb_sequential_offset, &state);
}

int32_t cb_is_tmpfs(const char *path) {
  struct statfs info;
  if (statfs(path, &info) != 0) return -errno;
  return info.f_type == TMPFS_MAGIC;
}
