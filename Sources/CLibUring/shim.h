// CLibUring: the thinnest shim over liburing 2.3.
//
// Re-exports what Swift cannot import from <liburing.h> (function-like macros,
// flag macros over enum bits, the CQE iteration macro) as static inline
// functions and static const values. Nothing else lives here.
#ifndef CLIBURING_SHIM_H
#define CLIBURING_SHIM_H

// <features.h> first: liburing.h defines _XOPEN_SOURCE/_GNU_SOURCE, which on a
// clean build breaks the Glibc module's fd_set (swiftlang/swift#69311).
#include <features.h>
// The kernel's uapi header first: swift-system's CSystem module includes it too,
// and liburing's private copy (same include guard, older) would then define
// io_uring_sqe differently in two modules.
#include <linux/io_uring.h>
#include <liburing.h>
#include <sys/eventfd.h>
#include <sys/syscall.h>
#include <sys/prctl.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <linux/audit.h>
#include <stddef.h>
#include <unistd.h>
#include <pthread.h>
#include <sched.h>
#include <errno.h>

// MARK: - SQE flags (macros over enum bits in io_uring.h)
static const unsigned char CLU_IOSQE_FIXED_FILE = IOSQE_FIXED_FILE;
static const unsigned char CLU_IOSQE_IO_DRAIN = IOSQE_IO_DRAIN;
static const unsigned char CLU_IOSQE_IO_LINK = IOSQE_IO_LINK;
static const unsigned char CLU_IOSQE_IO_HARDLINK = IOSQE_IO_HARDLINK;
static const unsigned char CLU_IOSQE_ASYNC = IOSQE_ASYNC;
static const unsigned char CLU_IOSQE_BUFFER_SELECT = IOSQE_BUFFER_SELECT;
static const unsigned char CLU_IOSQE_CQE_SKIP_SUCCESS = IOSQE_CQE_SKIP_SUCCESS;

// MARK: - Constants newer than the 6.1 uapi header shipped with liburing 2.3
#ifndef IORING_SETUP_NO_SQARRAY
#define IORING_SETUP_NO_SQARRAY (1U << 16)
#endif

// MARK: - Batch CQE drain (io_uring_for_each_cqe is a macro)

/// Copies up to `max` ready CQEs into `out` and advances the CQ head past them.
/// Returns how many were copied. Never blocks, never enters the kernel.
static inline unsigned clu_drain_cqes(struct io_uring *ring,
                                      struct io_uring_cqe *out,
                                      unsigned max) {
  unsigned count = 0;
  unsigned head;
  struct io_uring_cqe *cqe;
  io_uring_for_each_cqe(ring, head, cqe) {
    if (count == max) break;
    out[count++] = *cqe;
  }
  if (count) io_uring_cq_advance(ring, count);
  return count;
}

/// The ring's SQ flags as the kernel last published them (IORING_SQ_*).
static inline unsigned clu_sq_flags(const struct io_uring *ring) {
  return IO_URING_READ_ONCE(*ring->sq.kflags);
}

/// Raw io_uring_setup(2), to tell why the kernel refuses a ring.
static inline int clu_sys_io_uring_setup(unsigned entries,
                                         struct io_uring_params *p) {
  return (int)syscall(__NR_io_uring_setup, entries, p);
}

// MARK: - eventfd (not in SwiftGlibc)
static inline int clu_eventfd(unsigned initval, int flags) {
  return eventfd(initval, flags);
}
static const int CLU_EFD_CLOEXEC = EFD_CLOEXEC;
static const int CLU_EFD_NONBLOCK = EFD_NONBLOCK;

// MARK: - libdispatch's main queue (ReactorRuntime's main reactor drains it)

// libdispatch's run-loop hooks, which Foundation's CFRunLoop uses; they are
// not in <dispatch/dispatch.h> but are exported by the toolchain's
// libdispatch.so. The handle is the main queue's wake-up eventfd (created on
// first use, non-blocking; libdispatch writes it when blocks wait, and never
// reads it); the callback runs the blocks waiting, and must be called on the
// main thread. Only targets that link Dispatch may call these.
extern int _dispatch_get_main_queue_handle_4CF(void);
extern void _dispatch_main_queue_callback_4CF(void *msg);

static inline int clu_dispatch_main_queue_handle(void) {
  return _dispatch_get_main_queue_handle_4CF();
}
static inline void clu_dispatch_drain_main_queue(void) {
  _dispatch_main_queue_callback_4CF(NULL);
}

// MARK: - Threads
static inline pid_t clu_gettid(void) { return (pid_t)syscall(SYS_gettid); }
/// pthread_setname_np is hidden behind _GNU_SOURCE in SwiftGlibc.
static inline int clu_set_thread_name(const char *name) {
  return pthread_setname_np(pthread_self(), name);
}

// <features.h> comes first without _GNU_SOURCE, so these GNU extensions are
// not declared by glibc's headers here: declare them (same prototypes).
extern int pthread_getname_np(pthread_t thread, char *name, size_t length);
extern int pthread_setaffinity_np(pthread_t thread, size_t size, const cpu_set_t *set);
extern int sched_getaffinity(pid_t pid, size_t size, cpu_set_t *set);

/// The calling thread's name.
static inline int clu_get_thread_name(char *name, size_t length) {
  return pthread_getname_np(pthread_self(), name, length);
}

// MARK: - CPU affinity (the CPU_* macros, in their always-available __ form)

/// Pins the calling thread to `cpu`. Returns 0, or an errno value (EINVAL for
/// a CPU outside the process's affinity mask).
static inline int clu_pin_thread_to_cpu(int cpu) {
  if (cpu < 0 || cpu >= __CPU_SETSIZE) return EINVAL;
  cpu_set_t set;
  __CPU_ZERO_S(sizeof(set), &set);
  __CPU_SET_S(cpu, sizeof(set), &set);
  return pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
}

/// Writes up to `capacity` CPU numbers the calling thread may run on
/// (sched_getaffinity) to `cpus`; returns how many there are, or -1 with
/// errno set.
static inline int clu_usable_cpus(int *cpus, int capacity) {
  cpu_set_t set;
  __CPU_ZERO_S(sizeof(set), &set);
  if (sched_getaffinity(0, sizeof(set), &set) != 0) return -1;
  int count = 0;
  for (int cpu = 0; cpu < __CPU_SETSIZE; cpu++) {
    if (!__CPU_ISSET_S(cpu, sizeof(set), &set)) continue;
    if (count < capacity) cpus[count] = cpu;
    count++;
  }
  return count;
}

// MARK: - seccomp (used by tests that simulate a container that denies io_uring)

/// Installs a seccomp filter in the calling thread (and the threads it creates
/// afterwards) that makes io_uring_setup(2) fail with `errnoValue`.
/// Returns 0 on success, -1 with errno set on failure.
static inline int clu_deny_io_uring_setup(int errnoValue) {
  struct sock_filter filter[] = {
    BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_io_uring_setup, 0, 1),
    BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | (errnoValue & SECCOMP_RET_DATA)),
    BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
  };
  struct sock_fprog prog = {
    .len = (unsigned short)(sizeof(filter) / sizeof(filter[0])),
    .filter = filter,
  };
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) return -1;
  return (int)syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER,
                      SECCOMP_FILTER_FLAG_TSYNC, &prog);
}

// MARK: - Pipes (SocketStream.send(file:range:) splices through them)

/// pipe2(fds, O_CLOEXEC); pipe2 is a GNU extension not declared here.
/// Returns 0, or -1 with errno set.
static inline int clu_pipe_cloexec(int fds[2]) {
  return (int)syscall(SYS_pipe2, fds, 02000000 /* O_CLOEXEC */);
}
/// fcntl commands for a pipe's capacity (GNU, not declared here).
static const int CLU_F_SETPIPE_SZ = 1031;
static const int CLU_F_GETPIPE_SZ = 1032;

#endif
