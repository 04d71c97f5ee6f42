// Batched UDP for the headend (Linux): sendmmsg(2) and recvmmsg(2), which Node's dgram does not
// use, plus the socket options dgram lacks (IP_TOS). Loaded by src/headend/net/native-udp.ts;
// where it is not built, the headend uses node:dgram instead.
//
// Why: on this project's VMs a system call costs microseconds, and dgram adds JS objects per
// datagram (a send request, a Buffer and an rinfo per message received). Measured here: dgram
// send 4.2 µs of CPU per 1316-byte datagram; send(2) from C 2.75 µs; sendmmsg(2) of 4 at once
// 1.27 µs per datagram. The pacer sends every datagram falling due in one pass with one call,
// and an input reads everything queued in the kernel with one call.
//
// The functions (all synchronous; errors are thrown as Errors with Node's `code`, `errno` and
// `syscall`, as dgram's are):
//   open({ bindAddress, bindPort, reuseAddr, ttl, multicastInterface, multicastLoop,
//          sendBufferBytes, receiveBufferBytes, tos })
//       → { fd, address, port, sendBufferBytes, receiveBufferBytes, tosApplied }
//   join(fd, group, interfaceAddress, source)        IP_ADD_(SOURCE_)MEMBERSHIP ('' = any)
//   sendBatch(fd, arena, meta, start, end)           → datagrams start..end−1 sent in one call
//       (sendmmsg, 64 at a time): how many went, or −errno when the first of them failed
//       meta: Int32Array, 4 per datagram: byte offset in arena, length, IPv4 address (host
//       order, as int32), port. MSG_DONTWAIT: a full socket buffer fails with EAGAIN.
//   recvBatch(fd, arena, slotBytes, lens, max)       → datagrams read (0: none), or −errno
//       datagram i is at arena[i·slotBytes], lens[i] bytes (−1: longer than a slot, truncated)
//   poll(fd, callback) → handle                      callback() whenever fd is readable
//   pollPause(handle, paused)                        stop / restart watching (uv_poll_stop/start)
//   pollStop(handle)                                 for good (the handle is freed)
//   close(fd)
//   errorName(errno)                                 'EAGAIN', …

#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <node_api.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <uv.h>

#define BATCH 64

#define CHECK(call)                                                                      \
  do {                                                                                   \
    if ((call) != napi_ok) {                                                             \
      napi_throw_error(env, "E_NATIVE_UDP", "native-udp: bad arguments (" #call ")");   \
      return NULL;                                                                       \
    }                                                                                    \
  } while (0)

static napi_value throw_errno(napi_env env, const char *syscall, int err) {
  int uverr = uv_translate_sys_error(err);
  char msg[160];
  snprintf(msg, sizeof msg, "%s %s (%s)", syscall, uv_err_name(uverr), uv_strerror(uverr));
  napi_value code, message, error, num, sc;
  napi_create_string_utf8(env, uv_err_name(uverr), NAPI_AUTO_LENGTH, &code);
  napi_create_string_utf8(env, msg, NAPI_AUTO_LENGTH, &message);
  napi_create_error(env, code, message, &error);
  napi_create_int32(env, uverr, &num);
  napi_set_named_property(env, error, "errno", num);
  napi_create_string_utf8(env, syscall, NAPI_AUTO_LENGTH, &sc);
  napi_set_named_property(env, error, "syscall", sc);
  napi_throw(env, error);
  return NULL;
}

static int get_args(napi_env env, napi_callback_info info, size_t n, napi_value *argv) {
  size_t argc = n;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok) return 0;
  return argc >= n;
}

/** opts[name] as int32, `dflt` when absent or undefined. */
static int32_t prop_int(napi_env env, napi_value obj, const char *name, int32_t dflt) {
  napi_value v;
  napi_valuetype t;
  int32_t out = dflt;
  if (napi_get_named_property(env, obj, name, &v) != napi_ok) return dflt;
  if (napi_typeof(env, v, &t) != napi_ok || t != napi_number) return dflt;
  napi_get_value_int32(env, v, &out);
  return out;
}

static int prop_bool(napi_env env, napi_value obj, const char *name) {
  napi_value v;
  bool out = false;
  if (napi_get_named_property(env, obj, name, &v) != napi_ok) return 0;
  if (napi_get_value_bool(env, v, &out) != napi_ok) return 0;
  return out;
}

/** opts[name] or a plain string → IPv4 address; '' or absent → INADDR_ANY. 0 on a bad address. */
static int to_addr(napi_env env, napi_value v, struct in_addr *out) {
  char s[64] = "";
  size_t len = 0;
  napi_valuetype t;
  out->s_addr = htonl(INADDR_ANY);
  if (napi_typeof(env, v, &t) != napi_ok) return 0;
  if (t == napi_undefined || t == napi_null) return 1;
  if (t != napi_string) return 0;
  napi_get_value_string_utf8(env, v, s, sizeof s, &len);
  if (len == 0) return 1;
  return inet_pton(AF_INET, s, out) == 1;
}

static int prop_addr(napi_env env, napi_value obj, const char *name, struct in_addr *out) {
  napi_value v;
  if (napi_get_named_property(env, obj, name, &v) != napi_ok) return 0;
  return to_addr(env, v, out);
}

static void set_int(napi_env env, napi_value obj, const char *name, int64_t value) {
  napi_value v;
  napi_create_int64(env, value, &v);
  napi_set_named_property(env, obj, name, v);
}

static napi_value js_open(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  if (!get_args(env, info, 1, argv)) return throw_errno(env, "open", EINVAL);
  napi_value o = argv[0];
  struct in_addr bind_addr, mif;
  if (!prop_addr(env, o, "bindAddress", &bind_addr) ||
      !prop_addr(env, o, "multicastInterface", &mif))
    return throw_errno(env, "open", EINVAL);
  int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return throw_errno(env, "socket", errno);
  int one = 1;
  const char *failed = NULL;
  int ttl = prop_int(env, o, "ttl", 1);
  int sndbuf = prop_int(env, o, "sendBufferBytes", 0);
  int rcvbuf = prop_int(env, o, "receiveBufferBytes", 0);
  int tos = prop_int(env, o, "tos", 0);
  int loop = prop_bool(env, o, "multicastLoop");
  int tos_applied = 1;
  int unicast_ttl = ttl < 1 ? 1 : ttl;
  if (prop_bool(env, o, "reuseAddr") &&
      setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0)
    failed = "setsockopt SO_REUSEADDR";
  if (!failed && setsockopt(fd, IPPROTO_IP, IP_MULTICAST_TTL, &ttl, sizeof ttl) < 0)
    failed = "setsockopt IP_MULTICAST_TTL";
  if (!failed && setsockopt(fd, IPPROTO_IP, IP_TTL, &unicast_ttl, sizeof unicast_ttl) < 0)
    failed = "setsockopt IP_TTL";
  if (!failed && setsockopt(fd, IPPROTO_IP, IP_MULTICAST_LOOP, &loop, sizeof loop) < 0)
    failed = "setsockopt IP_MULTICAST_LOOP";
  if (!failed && mif.s_addr != htonl(INADDR_ANY) &&
      setsockopt(fd, IPPROTO_IP, IP_MULTICAST_IF, &mif, sizeof mif) < 0)
    failed = "setsockopt IP_MULTICAST_IF";
  // Buffers and TOS are wishes: the kernel caps buffers at [wr]mem_max; a refused TOS is reported.
  // The FORCE options pass the cap where the process may (CAP_NET_ADMIN).
  if (!failed && sndbuf > 0 && setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &sndbuf, sizeof sndbuf) < 0)
    setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof sndbuf);
  if (!failed && rcvbuf > 0 && setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf, sizeof rcvbuf) < 0)
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
  if (!failed && tos != 0 && setsockopt(fd, IPPROTO_IP, IP_TOS, &tos, sizeof tos) < 0)
    tos_applied = 0;
  struct sockaddr_in sa;
  memset(&sa, 0, sizeof sa);
  sa.sin_family = AF_INET;
  sa.sin_addr = bind_addr;
  sa.sin_port = htons((uint16_t)prop_int(env, o, "bindPort", 0));
  if (!failed && bind(fd, (struct sockaddr *)&sa, sizeof sa) < 0) failed = "bind";
  if (failed) {
    int err = errno;
    close(fd);
    return throw_errno(env, failed, err);
  }
  socklen_t salen = sizeof sa;
  getsockname(fd, (struct sockaddr *)&sa, &salen);
  char addr[INET_ADDRSTRLEN] = "";
  inet_ntop(AF_INET, &sa.sin_addr, addr, sizeof addr);
  int granted_snd = 0, granted_rcv = 0;
  socklen_t il = sizeof(int);
  getsockopt(fd, SOL_SOCKET, SO_SNDBUF, &granted_snd, &il);
  il = sizeof(int);
  getsockopt(fd, SOL_SOCKET, SO_RCVBUF, &granted_rcv, &il);
  napi_value result, s, b;
  napi_create_object(env, &result);
  set_int(env, result, "fd", fd);
  napi_create_string_utf8(env, addr, NAPI_AUTO_LENGTH, &s);
  napi_set_named_property(env, result, "address", s);
  set_int(env, result, "port", ntohs(sa.sin_port));
  set_int(env, result, "sendBufferBytes", granted_snd);
  set_int(env, result, "receiveBufferBytes", granted_rcv);
  napi_get_boolean(env, tos_applied, &b);
  napi_set_named_property(env, result, "tosApplied", b);
  return result;
}

static napi_value js_join(napi_env env, napi_callback_info info) {
  napi_value argv[4];
  int32_t fd;
  struct in_addr group, iface, source;
  if (!get_args(env, info, 4, argv)) return throw_errno(env, "join", EINVAL);
  CHECK(napi_get_value_int32(env, argv[0], &fd));
  if (!to_addr(env, argv[1], &group) || !to_addr(env, argv[2], &iface) ||
      !to_addr(env, argv[3], &source))
    return throw_errno(env, "join", EINVAL);
  if (source.s_addr != htonl(INADDR_ANY)) {
    struct ip_mreq_source m = {.imr_multiaddr = group, .imr_interface = iface,
                               .imr_sourceaddr = source};
    if (setsockopt(fd, IPPROTO_IP, IP_ADD_SOURCE_MEMBERSHIP, &m, sizeof m) < 0)
      return throw_errno(env, "setsockopt IP_ADD_SOURCE_MEMBERSHIP", errno);
  } else {
    struct ip_mreq m = {.imr_multiaddr = group, .imr_interface = iface};
    if (setsockopt(fd, IPPROTO_IP, IP_ADD_MEMBERSHIP, &m, sizeof m) < 0)
      return throw_errno(env, "setsockopt IP_ADD_MEMBERSHIP", errno);
  }
  return NULL;
}

/** The data of a typed array of `want` type (a Uint8Array or Buffer, an Int32Array). */
static int typed_of(napi_env env, napi_value v, napi_typedarray_type want, void **data,
                    size_t *len) {
  napi_typedarray_type t;
  napi_value ab;
  size_t off;
  if (napi_get_typedarray_info(env, v, &t, len, data, &ab, &off) != napi_ok) return 0;
  return t == want;
}

static napi_value js_send_batch(napi_env env, napi_callback_info info) {
  napi_value argv[5], result;
  int32_t fd, start, end;
  uint8_t *arena;
  int32_t *meta;
  size_t arena_len, meta_len;
  if (!get_args(env, info, 5, argv)) return throw_errno(env, "sendBatch", EINVAL);
  CHECK(napi_get_value_int32(env, argv[0], &fd));
  CHECK(napi_get_value_int32(env, argv[3], &start));
  CHECK(napi_get_value_int32(env, argv[4], &end));
  if (!typed_of(env, argv[1], napi_uint8_array, (void **)&arena, &arena_len) ||
      !typed_of(env, argv[2], napi_int32_array, (void **)&meta, &meta_len) ||
      start < 0 || end < start || (size_t)end * 4 > meta_len)
    return throw_errno(env, "sendBatch", EINVAL);
  meta += (size_t)start * 4;
  int32_t count = end - start;
  struct mmsghdr msgs[BATCH];
  struct iovec iov[BATCH];
  struct sockaddr_in to[BATCH];
  int32_t sent = 0;
  while (sent < count) {
    int n = count - sent < BATCH ? count - sent : BATCH;
    for (int i = 0; i < n; i++) {
      const int32_t *m = meta + (size_t)(sent + i) * 4;
      if (m[0] < 0 || m[1] < 0 || (size_t)m[0] + (size_t)m[1] > arena_len)
        return throw_errno(env, "sendBatch", EINVAL);
      iov[i].iov_base = arena + m[0];
      iov[i].iov_len = (size_t)m[1];
      memset(&to[i], 0, sizeof to[i]);
      to[i].sin_family = AF_INET;
      to[i].sin_addr.s_addr = htonl((uint32_t)m[2]);
      to[i].sin_port = htons((uint16_t)m[3]);
      memset(&msgs[i].msg_hdr, 0, sizeof msgs[i].msg_hdr);
      msgs[i].msg_hdr.msg_name = &to[i];
      msgs[i].msg_hdr.msg_namelen = sizeof to[i];
      msgs[i].msg_hdr.msg_iov = &iov[i];
      msgs[i].msg_hdr.msg_iovlen = 1;
    }
    int r;
    do r = sendmmsg(fd, msgs, (unsigned)n, MSG_DONTWAIT);
    while (r < 0 && errno == EINTR);
    if (r < 0) {
      // Nothing of this call went: report the error if nothing went at all, else the count.
      if (sent == 0) sent = -errno;
      break;
    }
    sent += r;
    if (r < n) break;  // the next one failed: the caller retries it alone to learn why
  }
  napi_create_int32(env, sent, &result);
  return result;
}

static napi_value js_recv_batch(napi_env env, napi_callback_info info) {
  napi_value argv[5], result;
  int32_t fd, slot, max;
  uint8_t *arena;
  int32_t *lens;
  size_t arena_len, lens_len;
  if (!get_args(env, info, 5, argv)) return throw_errno(env, "recvBatch", EINVAL);
  CHECK(napi_get_value_int32(env, argv[0], &fd));
  CHECK(napi_get_value_int32(env, argv[2], &slot));
  CHECK(napi_get_value_int32(env, argv[4], &max));
  if (!typed_of(env, argv[1], napi_uint8_array, (void **)&arena, &arena_len) ||
      !typed_of(env, argv[3], napi_int32_array, (void **)&lens, &lens_len) ||
      slot <= 0 || max < 0 || (size_t)max > lens_len || (size_t)max * (size_t)slot > arena_len)
    return throw_errno(env, "recvBatch", EINVAL);
  if (max > BATCH) max = BATCH;
  struct mmsghdr msgs[BATCH];
  struct iovec iov[BATCH];
  for (int i = 0; i < max; i++) {
    iov[i].iov_base = arena + (size_t)i * (size_t)slot;
    iov[i].iov_len = (size_t)slot;
    memset(&msgs[i].msg_hdr, 0, sizeof msgs[i].msg_hdr);
    msgs[i].msg_hdr.msg_iov = &iov[i];
    msgs[i].msg_hdr.msg_iovlen = 1;
  }
  int r;
  do r = recvmmsg(fd, msgs, (unsigned)max, MSG_DONTWAIT, NULL);
  while (r < 0 && errno == EINTR);
  if (r < 0) r = (errno == EAGAIN || errno == EWOULDBLOCK) ? 0 : -errno;
  for (int i = 0; i < r; i++)
    lens[i] = (msgs[i].msg_hdr.msg_flags & MSG_TRUNC) ? -1 : (int32_t)msgs[i].msg_len;
  napi_create_int32(env, r, &result);
  return result;
}

typedef struct {
  uv_poll_t handle;
  napi_env env;
  napi_ref callback;
  int stopped;
  /** Freed when both happened: libuv closed the handle, and JS dropped the External. */
  int closed;
  int finalized;
} poller;

static void poller_closed(uv_handle_t *h) {
  poller *p = h->data;
  p->closed = 1;
  if (p->finalized) free(p);
}

static void poller_stop(poller *p) {
  if (p->stopped) return;
  p->stopped = 1;
  uv_poll_stop(&p->handle);
  napi_delete_reference(p->env, p->callback);
  uv_close((uv_handle_t *)&p->handle, poller_closed);
}

static void poller_cleanup(void *arg) { poller_stop(arg); }

static void on_readable(uv_poll_t *h, int status, int events) {
  (void)status;
  (void)events;
  poller *p = h->data;
  if (p->stopped) return;
  napi_env env = p->env;
  napi_handle_scope scope;
  napi_value fn, global, ignored;
  napi_open_handle_scope(env, &scope);
  napi_get_reference_value(env, p->callback, &fn);
  napi_get_global(env, &global);
  if (napi_call_function(env, global, fn, 0, NULL, &ignored) == napi_pending_exception) {
    napi_value err;
    napi_get_and_clear_last_exception(env, &err);
    napi_fatal_exception(env, err);
  }
  napi_close_handle_scope(env, scope);
}

static void poller_finalize(napi_env env, void *data, void *hint) {
  // An External dropped without pollStop() keeps polling until the environment goes
  // (poller_cleanup); a stopped one is freed once libuv has closed it too.
  poller *p = data;
  p->finalized = 1;
  if (p->closed) free(p);
}

static napi_value js_poll(napi_env env, napi_callback_info info) {
  napi_value argv[2], external;
  int32_t fd;
  uv_loop_t *loop;
  if (!get_args(env, info, 2, argv)) return throw_errno(env, "poll", EINVAL);
  CHECK(napi_get_value_int32(env, argv[0], &fd));
  CHECK(napi_get_uv_event_loop(env, &loop));
  poller *p = calloc(1, sizeof *p);
  if (p == NULL) return throw_errno(env, "poll", ENOMEM);
  p->env = env;
  int r = uv_poll_init(loop, &p->handle, fd);
  if (r != 0) {
    free(p);
    return throw_errno(env, "uv_poll_init", -r);
  }
  p->handle.data = p;
  napi_create_reference(env, argv[1], 1, &p->callback);
  r = uv_poll_start(&p->handle, UV_READABLE, on_readable);
  if (r != 0) {
    p->finalized = 1;  // no External will own it
    poller_stop(p);
    return throw_errno(env, "uv_poll_start", -r);
  }
  napi_add_env_cleanup_hook(env, poller_cleanup, p);
  napi_create_external(env, p, poller_finalize, NULL, &external);
  return external;
}

static napi_value js_poll_stop(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  void *p;
  if (!get_args(env, info, 1, argv)) return throw_errno(env, "pollStop", EINVAL);
  CHECK(napi_get_value_external(env, argv[0], &p));
  if (!((poller *)p)->stopped) {
    napi_remove_env_cleanup_hook(env, poller_cleanup, p);
    poller_stop(p);
  }
  return NULL;
}

static napi_value js_poll_pause(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  void *v;
  bool paused;
  if (!get_args(env, info, 2, argv)) return throw_errno(env, "pollPause", EINVAL);
  CHECK(napi_get_value_external(env, argv[0], &v));
  CHECK(napi_get_value_bool(env, argv[1], &paused));
  poller *p = v;
  if (p->stopped) return NULL;
  int r = paused ? uv_poll_stop(&p->handle) : uv_poll_start(&p->handle, UV_READABLE, on_readable);
  if (r != 0) return throw_errno(env, "uv_poll_start", -r);
  return NULL;
}

static napi_value js_close(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  int32_t fd;
  if (!get_args(env, info, 1, argv)) return throw_errno(env, "close", EINVAL);
  CHECK(napi_get_value_int32(env, argv[0], &fd));
  if (close(fd) < 0) return throw_errno(env, "close", errno);
  return NULL;
}

static napi_value js_error_name(napi_env env, napi_callback_info info) {
  napi_value argv[1], result;
  int32_t err;
  if (!get_args(env, info, 1, argv)) return throw_errno(env, "errorName", EINVAL);
  CHECK(napi_get_value_int32(env, argv[0], &err));
  napi_create_string_utf8(env, uv_err_name(uv_translate_sys_error(err < 0 ? -err : err)),
                          NAPI_AUTO_LENGTH, &result);
  return result;
}

NAPI_MODULE_INIT() {
  napi_property_descriptor props[] = {
      {"open", NULL, js_open, NULL, NULL, NULL, napi_enumerable, NULL},
      {"join", NULL, js_join, NULL, NULL, NULL, napi_enumerable, NULL},
      {"sendBatch", NULL, js_send_batch, NULL, NULL, NULL, napi_enumerable, NULL},
      {"recvBatch", NULL, js_recv_batch, NULL, NULL, NULL, napi_enumerable, NULL},
      {"poll", NULL, js_poll, NULL, NULL, NULL, napi_enumerable, NULL},
      {"pollPause", NULL, js_poll_pause, NULL, NULL, NULL, napi_enumerable, NULL},
      {"pollStop", NULL, js_poll_stop, NULL, NULL, NULL, napi_enumerable, NULL},
      {"close", NULL, js_close, NULL, NULL, NULL, napi_enumerable, NULL},
      {"errorName", NULL, js_error_name, NULL, NULL, NULL, napi_enumerable, NULL},
  };
  napi_define_properties(env, exports, sizeof props / sizeof props[0], props);
  return exports;
}
