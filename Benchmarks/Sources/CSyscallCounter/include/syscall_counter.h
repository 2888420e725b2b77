// Counts the syscalls of the whole process with perf: one counter of the
// tracepoint raw_syscalls:sys_enter per thread (inherited by the threads each
// one creates afterwards). Needs perf_event_open and tracefs (root, or
// kernel.perf_event_paranoid <= 1 with tracefs readable); otherwise
// syscall_counter_open fails and the benchmarks report no syscall figure.
//
// Not thread-safe: open, read and close from one thread (the benchmark's).
#ifndef SYSCALL_COUNTER_H
#define SYSCALL_COUNTER_H

#include <stdint.h>

/// Opens a counter on every current thread of the process. Returns the number
/// of threads counted, or a negative errno (nothing stays open then).
int syscall_counter_open(void);

/// Syscalls counted since syscall_counter_open, all threads; -1 if not open.
int64_t syscall_counter_read(void);

/// Closes the counters.
void syscall_counter_close(void);

#endif
