// The pacing thread's native helpers: a clock read that makes no JS value (now(), at the end),
// its own CPU time and context switches (cpu(), at the end), and the calling thread's EEVDF
// slice (sched(7), sched_setattr(2)): Linux 6.12 and later read sched_attr.sched_runtime of a
// SCHED_OTHER thread as the slice it asks for (clamped by the kernel to 0.1-100 ms; the default
// is 0.7 ms × (1 + log2 CPUs), 1.4 ms on 2 CPUs), and a thread that wakes with a shorter slice
// than the running one's may preempt it at once (kernel/sched/fair.c, PREEMPT_SHORT). No
// privilege is needed: the policy and nice value stay as they are (read with sched_getattr and
// written back). Older kernels take the call and leave the field unused (slice() then reads 0
// before 6.6, the default before 6.12). glibc has no wrapper before 2.41: the raw system calls.
//
// struct sched_attr (include/uapi/linux/sched/types.h), 56 bytes (SCHED_ATTR_SIZE_VER1):
//   u32 size | u32 sched_policy | u64 sched_flags | s32 sched_nice | u32 sched_priority |
//   u64 sched_runtime | u64 sched_deadline | u64 sched_period | u32 sched_util_min |
//   u32 sched_util_max

#define _GNU_SOURCE
#include <errno.h>
#include <node_api.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

struct sched_attr_v1 {
  uint32_t size;
  uint32_t sched_policy;
  uint64_t sched_flags;
  int32_t sched_nice;
  uint32_t sched_priority;
  uint64_t sched_runtime;
  uint64_t sched_deadline;
  uint64_t sched_period;
  uint32_t sched_util_min;
  uint32_t sched_util_max;
};

/** Reads the calling thread's attributes; 0 or an errno. */
static int get_attr(struct sched_attr_v1 *a) {
  memset(a, 0, sizeof *a);
  if (syscall(SYS_sched_getattr, 0, a, sizeof *a, 0) != 0) return errno;
  return 0;
}

/** A string "<call>: <strerror> (errno N)" as the result. */
static napi_value error_string(napi_env env, const char *call, int err) {
  char msg[160];
  snprintf(msg, sizeof msg, "%s: %s (errno %d)", call, strerror(err), err);
  napi_value s;
  napi_create_string_utf8(env, msg, NAPI_AUTO_LENGTH, &s);
  return s;
}

/** slice(): the calling thread's slice in ns, or an error string. */
static napi_value js_slice(napi_env env, napi_callback_info info) {
  struct sched_attr_v1 a;
  int err = get_attr(&a);
  if (err) return error_string(env, "sched_getattr", err);
  napi_value n;
  napi_create_double(env, (double)a.sched_runtime, &n);
  return n;
}

/** setSlice(ns): asks for that slice; null, or an error string. */
static napi_value js_set_slice(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1], result;
  double ns = 0;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 1 ||
      napi_get_value_double(env, argv[0], &ns) != napi_ok || !(ns > 0))
    return error_string(env, "setSlice", EINVAL);
  struct sched_attr_v1 a;
  int err = get_attr(&a);
  if (err) return error_string(env, "sched_getattr", err);
  if (a.sched_policy != 0 /* SCHED_OTHER */ && a.sched_policy != 3 /* SCHED_BATCH */)
    return error_string(env, "setSlice (not SCHED_OTHER)", EINVAL);
  a.size = sizeof a;
  a.sched_flags = 0;
  a.sched_runtime = (uint64_t)ns;
  if (syscall(SYS_sched_setattr, 0, &a, 0) != 0) return error_string(env, "sched_setattr", errno);
  napi_get_null(env, &result);
  return result;
}

/**
 * The data of argument 0, a Float64Array of at least `min` elements; NULL after throwing a
 * TypeError `message` when it is not one.
 */
static double *float64_cell(napi_env env, napi_callback_info info, size_t min,
                            const char *message) {
  size_t argc = 1;
  napi_value argv[1];
  napi_typedarray_type type;
  size_t length = 0;
  void *data = NULL;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 1 ||
      napi_get_typedarray_info(env, argv[0], &type, &length, &data, NULL, NULL) != napi_ok ||
      type != napi_float64_array || length < min) {
    napi_throw_type_error(env, NULL, message);
    return NULL;
  }
  return (double *)data;
}

/**
 * now(cell): CLOCK_MONOTONIC in ns into cell[0], a Float64Array (process.hrtime's clock: libuv
 * reads CLOCK_MONOTONIC). Nothing is returned, so a read makes no JS value: the pacing thread
 * reads the clock thousands of times a second, and performance.now() left ~32 bytes of garbage
 * each time. A double holds ns since boot to the ns for 104 days, to 2 ns for the next 104.
 */
static napi_value js_now(napi_env env, napi_callback_info info) {
  double *cell = float64_cell(env, info, 1, "now(cell): cell must be a Float64Array");
  if (cell == NULL) return NULL;
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  cell[0] = (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
  return NULL;
}

/**
 * cpu(cell): the calling thread's use of its CPU into a Float64Array of at least 3: [0] its CPU
 * time, user and system, ns (CLOCK_THREAD_CPUTIME_ID, brought up to date by the call: not the
 * time it waited for a CPU, nor, where the kernel accounts steal time, the time the VM's vCPU was
 * held; getrusage's own times lag by up to a scheduler tick, 4 ms here), [1] its voluntary
 * context switches (it blocked: a lock, a wait) and [2] its involuntary ones (the scheduler took
 * the CPU away), from getrusage(2), RUSAGE_THREAD; all three −1 if a call fails. The pacing loop
 * reads it at each pass so that time the OS took the CPU away in the middle of a pass is not
 * counted as the daemon's own lateness. Two system calls, ~0.7 µs, once per pass.
 */
static napi_value js_cpu(napi_env env, napi_callback_info info) {
  double *cell = float64_cell(env, info, 3, "cpu(cell): cell must be a Float64Array of 3");
  if (cell == NULL) return NULL;
  struct rusage ru;
  struct timespec ts;
  if (clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts) != 0 || getrusage(RUSAGE_THREAD, &ru) != 0) {
    cell[0] = cell[1] = cell[2] = -1;
    return NULL;
  }
  cell[0] = (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
  cell[1] = (double)ru.ru_nvcsw;
  cell[2] = (double)ru.ru_nivcsw;
  return NULL;
}

NAPI_MODULE_INIT() {
  napi_property_descriptor props[] = {
      {"slice", NULL, js_slice, NULL, NULL, NULL, napi_enumerable, NULL},
      {"setSlice", NULL, js_set_slice, NULL, NULL, NULL, napi_enumerable, NULL},
      {"now", NULL, js_now, NULL, NULL, NULL, napi_enumerable, NULL},
      {"cpu", NULL, js_cpu, NULL, NULL, NULL, napi_enumerable, NULL},
  };
  napi_define_properties(env, exports, sizeof props / sizeof props[0], props);
  return exports;
}
