// CDeviceDouble: see include/device_double.h.
#define _GNU_SOURCE
#include "device_double.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

struct dd_gate {
  pthread_mutex_t lock;
  pthread_cond_t changed;
  int open;
  unsigned arrivals;
};

struct dd_transfer {
  unsigned char *data;
  size_t len;
  struct dd_options opts;
  // Callback transfers: detached, free themselves after the callback.
  dd_callback cb;
  void *user_arg;
  // Eventfd transfers: joined and freed by dd_transfer_free.
  int eventfd;
  pthread_t thread;  // eventfd transfers only
  pthread_mutex_t lock;
  long status;  // under `lock`
};

// MARK: - Live transfers

static pthread_mutex_t live_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t live_changed = PTHREAD_COND_INITIALIZER;
static unsigned live;
static unsigned open_eventfds;  // under live_lock

static void live_change(int started) {
  pthread_mutex_lock(&live_lock);
  if (started)
    live++;
  else
    live--;
  pthread_cond_broadcast(&live_changed);
  pthread_mutex_unlock(&live_lock);
}

unsigned dd_live_transfers(void) {
  pthread_mutex_lock(&live_lock);
  unsigned count = live;
  pthread_mutex_unlock(&live_lock);
  return count;
}

static void eventfd_change(int opened) {
  pthread_mutex_lock(&live_lock);
  if (opened)
    open_eventfds++;
  else
    open_eventfds--;
  pthread_mutex_unlock(&live_lock);
}

unsigned dd_open_eventfds(void) {
  pthread_mutex_lock(&live_lock);
  unsigned count = open_eventfds;
  pthread_mutex_unlock(&live_lock);
  return count;
}

void dd_wait_idle(void) {
  pthread_mutex_lock(&live_lock);
  while (live != 0) pthread_cond_wait(&live_changed, &live_lock);
  pthread_mutex_unlock(&live_lock);
}

// MARK: - Gates

dd_gate *dd_gate_create(void) {
  dd_gate *gate = calloc(1, sizeof(*gate));
  if (!gate) return NULL;
  pthread_mutex_init(&gate->lock, NULL);
  pthread_cond_init(&gate->changed, NULL);
  return gate;
}

void dd_gate_open(dd_gate *gate) {
  pthread_mutex_lock(&gate->lock);
  gate->open = 1;
  pthread_cond_broadcast(&gate->changed);
  pthread_mutex_unlock(&gate->lock);
}

unsigned dd_gate_arrivals(dd_gate *gate) {
  pthread_mutex_lock(&gate->lock);
  unsigned count = gate->arrivals;
  pthread_mutex_unlock(&gate->lock);
  return count;
}

void dd_gate_wait_arrivals(dd_gate *gate, unsigned count) {
  pthread_mutex_lock(&gate->lock);
  while (gate->arrivals < count) pthread_cond_wait(&gate->changed, &gate->lock);
  pthread_mutex_unlock(&gate->lock);
}

void dd_gate_destroy(dd_gate *gate) {
  if (!gate) return;
  pthread_cond_destroy(&gate->changed);
  pthread_mutex_destroy(&gate->lock);
  free(gate);
}

static void gate_pass(dd_gate *gate) {
  pthread_mutex_lock(&gate->lock);
  gate->arrivals++;
  pthread_cond_broadcast(&gate->changed);
  while (!gate->open) pthread_cond_wait(&gate->changed, &gate->lock);
  pthread_mutex_unlock(&gate->lock);
}

// MARK: - The device

static void sleep_us(unsigned us) {
  struct timespec ts = {.tv_sec = us / 1000000, .tv_nsec = (long)(us % 1000000) * 1000};
  while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
  }
}

static uint64_t fnv1a(const unsigned char *data, size_t len) {
  uint64_t hash = 0xcbf29ce484222325ULL;
  for (size_t i = 0; i < len; i++) {
    hash ^= data[i];
    hash *= 0x100000001b3ULL;
  }
  return hash;
}

/// Touches the memory as the options say; returns the transfer's result.
static long transfer(struct dd_transfer *t) {
  if (t->opts.gate) gate_pass(t->opts.gate);
  if (t->opts.delay_us) sleep_us(t->opts.delay_us);
  uint64_t checksum = fnv1a(t->data, t->len);
  if (t->opts.checksum_out) *t->opts.checksum_out = checksum;
  if (t->opts.mode == DD_MODE_WRITE) memset(t->data, t->opts.pattern, t->len);
  if (t->opts.fail_errno) return -(long)t->opts.fail_errno;
  return (long)t->len;
}

static void *run_callback(void *arg) {
  struct dd_transfer *t = arg;
  long result = transfer(t);
  t->cb(t->user_arg, result);
  free(t);
  live_change(0);
  return NULL;
}

static void *run_eventfd(void *arg) {
  struct dd_transfer *t = arg;
  long result = transfer(t);
  pthread_mutex_lock(&t->lock);
  t->status = result;
  pthread_mutex_unlock(&t->lock);
  // The status is published before the eventfd says so.
  uint64_t one = 1;
  while (write(t->eventfd, &one, sizeof(one)) < 0 && errno == EINTR) {
  }
  return NULL;
}

static struct dd_transfer *transfer_new(void *data, size_t len,
                                        const struct dd_options *opts) {
  struct dd_transfer *t = calloc(1, sizeof(*t));
  if (!t) return NULL;
  t->data = data;
  t->len = len;
  if (opts) t->opts = *opts;
  t->eventfd = -1;
  t->status = -EINPROGRESS;
  return t;
}

// MARK: - Callback transfers

int dd_transfer_start(const void *data, size_t len, unsigned delay_us,
                      int fail_errno, dd_callback cb, void *user_arg) {
  struct dd_options opts = {.mode = DD_MODE_READ, .delay_us = delay_us,
                            .fail_errno = fail_errno};
  // Read mode never writes: casting away const is safe.
  return dd_transfer_start_opts((void *)data, len, &opts, cb, user_arg);
}

int dd_transfer_start_opts(void *data, size_t len,
                           const struct dd_options *opts, dd_callback cb,
                           void *user_arg) {
  if (!cb || (!data && len)) return -EINVAL;
  struct dd_transfer *t = transfer_new(data, len, opts);
  if (!t) return -ENOMEM;
  t->cb = cb;
  t->user_arg = user_arg;
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
  live_change(1);
  // Not t->thread: a detached transfer may have freed `t` by the time
  // pthread_create stores the id.
  pthread_t thread;
  int err = pthread_create(&thread, &attr, run_callback, t);
  pthread_attr_destroy(&attr);
  if (err) {
    live_change(0);
    free(t);
    return -err;
  }
  return 0;
}

// MARK: - Eventfd transfers

dd_transfer *dd_transfer_start_eventfd(const void *data, size_t len,
                                       unsigned delay_us, int fail_errno,
                                       int *out_eventfd) {
  struct dd_options opts = {.mode = DD_MODE_READ, .delay_us = delay_us,
                            .fail_errno = fail_errno};
  return dd_transfer_start_eventfd_opts((void *)data, len, &opts, out_eventfd);
}

dd_transfer *dd_transfer_start_eventfd_opts(void *data, size_t len,
                                            const struct dd_options *opts,
                                            int *out_eventfd) {
  if (!out_eventfd || (!data && len)) {
    errno = EINVAL;
    return NULL;
  }
  struct dd_transfer *t = transfer_new(data, len, opts);
  if (!t) {
    errno = ENOMEM;
    return NULL;
  }
  t->eventfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (t->eventfd < 0) {
    int err = errno;
    free(t);
    errno = err;
    return NULL;
  }
  eventfd_change(1);
  pthread_mutex_init(&t->lock, NULL);
  live_change(1);
  int err = pthread_create(&t->thread, NULL, run_eventfd, t);
  if (err) {
    live_change(0);
    pthread_mutex_destroy(&t->lock);
    close(t->eventfd);
    eventfd_change(0);
    free(t);
    errno = err;
    return NULL;
  }
  *out_eventfd = t->eventfd;
  return t;
}

long dd_transfer_status(const dd_transfer *transfer) {
  struct dd_transfer *t = (struct dd_transfer *)transfer;
  pthread_mutex_lock(&t->lock);
  long status = t->status;
  pthread_mutex_unlock(&t->lock);
  return status;
}

void dd_transfer_free(dd_transfer *transfer) {
  if (!transfer) return;
  pthread_join(transfer->thread, NULL);
  close(transfer->eventfd);
  eventfd_change(0);
  pthread_mutex_destroy(&transfer->lock);
  free(transfer);
  live_change(0);
}
