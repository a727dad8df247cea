// The only C in uring: create and map a ring, enter it, register with it,
// resolve buffer addresses, and wake JavaScript when completions may be ready.
// Everything else (SQE layout, index arithmetic, every prep) lives in
// TypeScript over the memory mapped here.
//
// Conventions: system calls return their result or -errno as a JS number and
// never throw; only misuse of this API from JavaScript (a wrong argument type)
// throws, and src/native.ts validates before calling, so that should not
// happen. The uapi header here may be older than the running kernel: newer
// constants are passed in from TypeScript as plain numbers.
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/io_uring.h>
#include <linux/time_types.h>
#include <node_api.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <uv.h>

#ifndef IORING_ENTER_EXT_ARG
#define IORING_ENTER_EXT_ARG (1U << 3)
#endif
#ifndef IORING_SETUP_CQE32
#define IORING_SETUP_CQE32 (1U << 11)
#endif
#ifndef IORING_SETUP_SQE128
#define IORING_SETUP_SQE128 (1U << 10)
#endif
#ifndef IORING_SETUP_NO_SQARRAY
#define IORING_SETUP_NO_SQARRAY (1U << 16)
#endif
#ifndef IORING_REGISTER_SYNC_CANCEL
#define IORING_REGISTER_SYNC_CANCEL 24
#endif
#define URING_ASYNC_CANCEL_ALL (1U << 0)
#define URING_ASYNC_CANCEL_ANY (1U << 2)

#define CHECK(call)                                                            \
  do {                                                                         \
    if ((call) != napi_ok) return NULL;                                        \
  } while (0)
#define CHECKP(ptr)                                                            \
  do {                                                                         \
    if ((ptr) == NULL) return NULL;                                            \
  } while (0)

static int sys_setup(unsigned entries, struct io_uring_params *p) {
  int r = (int)syscall(__NR_io_uring_setup, entries, p);
  return r < 0 ? -errno : r;
}

static int sys_enter(int fd, unsigned submit, unsigned min, unsigned flags,
                     void *arg, size_t argsz) {
  int r = (int)syscall(__NR_io_uring_enter, fd, submit, min, flags, arg, argsz);
  return r < 0 ? -errno : r;
}

static int sys_register(int fd, unsigned op, void *arg, unsigned nr) {
  int r = (int)syscall(__NR_io_uring_register, fd, op, arg, nr);
  return r < 0 ? -errno : r;
}

static napi_value num(napi_env env, double v) {
  napi_value r;
  if (napi_create_double(env, v, &r) != napi_ok) return NULL;
  return r;
}

static napi_value int32(napi_env env, int32_t v) {
  napi_value r;
  if (napi_create_int32(env, v, &r) != napi_ok) return NULL;
  return r;
}

static int set_u32(napi_env env, napi_value obj, const char *key, uint32_t v) {
  napi_value x;
  if (napi_create_uint32(env, v, &x) != napi_ok) return -1;
  return napi_set_named_property(env, obj, key, x) == napi_ok ? 0 : -1;
}

static uint32_t opt_u32(napi_env env, napi_value obj, const char *key) {
  bool has = false;
  napi_value v;
  napi_valuetype t;
  uint32_t out = 0;
  if (napi_has_named_property(env, obj, key, &has) != napi_ok || !has) return 0;
  if (napi_get_named_property(env, obj, key, &v) != napi_ok) return 0;
  if (napi_typeof(env, v, &t) != napi_ok || t != napi_number) return 0;
  napi_get_value_uint32(env, v, &out);
  return out;
}

// Resolve the address and length of any binary view. V8 keeps small typed
// arrays on its moving heap; asking for the underlying ArrayBuffer moves the
// bytes off-heap for good, so the address returned here stays valid for as
// long as the buffer is alive and not detached.
static int view_info(napi_env env, napi_value v, void **data, size_t *len) {
  bool is;
  napi_value ab = NULL;
  *data = NULL;
  *len = 0;
  if (napi_is_typedarray(env, v, &is) == napi_ok && is) {
    napi_typedarray_type type;
    size_t length, offset;
    if (napi_get_typedarray_info(env, v, &type, &length, data, &ab, &offset) != napi_ok)
      return -1;
    size_t elem = 1;
    switch (type) {
      case napi_int16_array: case napi_uint16_array: elem = 2; break;
      case napi_int32_array: case napi_uint32_array: case napi_float32_array: elem = 4; break;
      case napi_float64_array: case napi_bigint64_array: case napi_biguint64_array: elem = 8; break;
      default: elem = 1;
    }
    *len = length * elem;
  } else if (napi_is_dataview(env, v, &is) == napi_ok && is) {
    size_t offset;
    if (napi_get_dataview_info(env, v, len, data, &ab, &offset) != napi_ok) return -1;
  } else if (napi_is_arraybuffer(env, v, &is) == napi_ok && is) {
    ab = v;
    if (napi_get_arraybuffer_info(env, v, data, len) != napi_ok) return -1;
  } else {
    return -1;
  }
  if (ab) {
    bool detached = false;
    if (napi_is_detached_arraybuffer(env, ab, &detached) == napi_ok && detached) return -2;
  }
  return 0;
}

// ---------------------------------------------------------------------------
// Rings.
//
// One record per ring, shared by the handle and the three external
// ArrayBuffers over the mappings. The mappings go away either on an explicit
// close() (which first detaches the ArrayBuffers, so JavaScript can never read
// unmapped memory: a detached view reads as empty) or when the handle and all
// three buffers have been collected. The record itself is freed when the last
// of the four is finalized.

typedef struct {
  int fd;
  int closed;
  int refs;
  int reg_index; // IORING_REGISTER_RING_FDS slot of this thread's table, or -1
  void *sq_ptr;
  size_t sq_len;
  void *cq_ptr; // == sq_ptr with IORING_FEAT_SINGLE_MMAP
  size_t cq_len;
  void *sqes_ptr;
  size_t sqes_len;
  napi_ref bufs[3];
  napi_env env;
  // For ring_reap_fds: byte offsets into the CQ mapping, and log2 CQE size.
  uint32_t cq_head_off, cq_tail_off, cq_mask_off, cqes_off;
  int cqe_shift;
  // For ring_barrier: the SQ's byte offsets (array 0 without one), SQE size, setup flags.
  uint32_t sq_head_off, sq_tail_off, sq_mask_off, sq_entries_off, sq_array_off;
  uint32_t sqe_size, setup_flags;
  int reap_fds; // set by ringOwnsFdResults
} ring_t;

// A runtime tags the user data of ops whose every result is a new fd (open,
// accept, multishot accept) with bit 63, and its ring publishes the CQ head
// before handing a tagged CQE to JavaScript. So a tagged CQE past the
// kernel's head is one JavaScript never saw: an accept that completed while
// the thread was busy, or during teardown's cancel. Its fd belongs to nobody
// else and is closed here, just before the ring goes away. The user-data
// layout (bit 63 FD_RESULTS_BIT, bit 31 AUX_BIT) is defined in
// src/ring/user-data.ts: keep the two in step.
// One CQE at teardown: a tagged one's fd is closed.
static void reap_one(const struct io_uring_cqe *c) {
  // Bit 31 of the low word marks an op's linked timeout: not an fd.
  if ((c->user_data >> 63) && !(c->user_data & 0x80000000u) && c->res >= 0) close(c->res);
}

static void ring_reap_fds(ring_t *r) {
  char *cq = (char *)r->cq_ptr;
  uint32_t *khead = (uint32_t *)(cq + r->cq_head_off);
  uint32_t *ktail = (uint32_t *)(cq + r->cq_tail_off);
  uint32_t mask = *(uint32_t *)(cq + r->cq_mask_off);
  for (int round = 0; round < 64; round++) {
    // Runs pending task work (DEFER_TASKRUN) and moves overflowed CQEs in.
    sys_enter(r->fd, 0, 0, IORING_ENTER_GETEVENTS, NULL, 0);
    uint32_t head = __atomic_load_n(khead, __ATOMIC_RELAXED);
    uint32_t tail = __atomic_load_n(ktail, __ATOMIC_ACQUIRE);
    if (head == tail) return;
    for (; head != tail; head++) {
      reap_one((struct io_uring_cqe *)(cq + r->cqes_off + ((size_t)(head & mask) << r->cqe_shift)));
    }
    __atomic_store_n(khead, head, __ATOMIC_RELEASE);
  }
}

// The user data of ring_barrier's NOP: no tag bit, never a slot's (the
// runtime's slots stay below 2^24; see src/ring/user-data.ts).
#define BARRIER_USER_DATA 0x7ffffffffffffffeULL

// After the cancel-all: waits (bounded) until every request submitted
// before has completed. A cancel cannot stop a request already running in
// a kernel worker (an open with O_CREAT or O_TRUNC goes there), and the
// cancel-all does not wait for those: such an open would install its fd
// after ring_reap_fds had looked, and leak it. A NOP with IOSQE_IO_DRAIN
// starts only once everything before it is done, so once its CQE is in,
// so is every fd-carrying CQE. The NOP goes at the kernel's SQ tail: SQEs
// JavaScript wrote past it were never submitted, and never will be. The
// CQEs that come meanwhile are reaped (ring_reap_fds), so a full CQ never
// holds the NOP's back.
static void ring_barrier(ring_t *r) {
  char *sq = (char *)r->sq_ptr;
  char *cq = (char *)r->cq_ptr;
  if (!sq || !cq || !r->sqes_ptr) return;
  uint32_t *sq_ktail = (uint32_t *)(sq + r->sq_tail_off);
  uint32_t mask = *(uint32_t *)(sq + r->sq_mask_off);
  uint32_t entries = *(uint32_t *)(sq + r->sq_entries_off);
  uint32_t tail = __atomic_load_n(sq_ktail, __ATOMIC_RELAXED);
  uint32_t head = __atomic_load_n((uint32_t *)(sq + r->sq_head_off), __ATOMIC_ACQUIRE);
  if (tail - head >= entries) return; // no room (an SQPOLL thread behind): give up
  uint32_t idx = tail & mask;
  struct io_uring_sqe *sqe = (struct io_uring_sqe *)((char *)r->sqes_ptr + (size_t)idx * r->sqe_size);
  memset(sqe, 0, r->sqe_size);
  sqe->opcode = IORING_OP_NOP;
  sqe->flags = IOSQE_IO_DRAIN;
  sqe->user_data = BARRIER_USER_DATA;
  if (r->sq_array_off) ((uint32_t *)(sq + r->sq_array_off))[idx] = idx;
  __atomic_store_n(sq_ktail, tail + 1, __ATOMIC_RELEASE);
  unsigned flags = IORING_ENTER_GETEVENTS;
  if (r->setup_flags & IORING_SETUP_SQPOLL) flags |= IORING_ENTER_SQ_WAKEUP;
  uint32_t *khead = (uint32_t *)(cq + r->cq_head_off);
  uint32_t *ktail = (uint32_t *)(cq + r->cq_tail_off);
  uint32_t cmask = *(uint32_t *)(cq + r->cq_mask_off);
  unsigned submit = 1;
  // 20 waits of 50 ms: a second at most, as the cancel-all's own timeout.
  for (int round = 0; round < 20; round++) {
    struct __kernel_timespec ts = {0, 50 * 1000 * 1000};
    struct io_uring_getevents_arg arg;
    memset(&arg, 0, sizeof arg);
    arg.ts = (uint64_t)(uintptr_t)&ts;
    int ret = sys_enter(r->fd, submit, 1, flags | IORING_ENTER_EXT_ARG, &arg, sizeof arg);
    if (ret >= 0 || ret == -ETIME || ret == -EINTR) submit = 0;
    else if (ret != -EBUSY && ret != -EAGAIN) return;
    uint32_t head = __atomic_load_n(khead, __ATOMIC_RELAXED);
    uint32_t t = __atomic_load_n(ktail, __ATOMIC_ACQUIRE);
    int done = 0;
    for (; head != t; head++) {
      struct io_uring_cqe *c = (struct io_uring_cqe *)(cq + r->cqes_off + ((size_t)(head & cmask) << r->cqe_shift));
      if (c->user_data == BARRIER_USER_DATA) done = 1;
      else reap_one(c);
    }
    __atomic_store_n(khead, head, __ATOMIC_RELEASE);
    if (done) return;
  }
}

static void ring_unmap(ring_t *r) {
  if (r->closed) return;
  r->closed = 1;
  if (r->fd >= 0 && r->reg_index >= 0) {
    // struct io_uring_rsrc_update { u32 offset; u32 resv; u64 data; }
    uint32_t upd[4] = {(uint32_t)r->reg_index, 0, 0, 0};
    sys_register(r->fd, 21 /* IORING_UNREGISTER_RING_FDS */, upd, 1);
    r->reg_index = -1;
  }
  if (r->fd >= 0) {
    // Cancel everything still in flight and wait for it (bounded), so the
    // kernel is done with user memory before the ring goes away.
    struct {
      uint64_t addr;
      int32_t fd;
      uint32_t flags;
      struct __kernel_timespec timeout;
      uint8_t opcode;
      uint8_t pad[7];
      uint64_t pad2[3];
    } reg;
    memset(&reg, 0, sizeof reg);
    reg.fd = -1;
    reg.flags = URING_ASYNC_CANCEL_ANY | URING_ASYNC_CANCEL_ALL;
    reg.timeout.tv_sec = 1;
    sys_register(r->fd, IORING_REGISTER_SYNC_CANCEL, &reg, 1);
    if (r->reap_fds && r->cq_ptr) {
      ring_barrier(r);
      ring_reap_fds(r);
    }
  }
  if (r->sqes_ptr) munmap(r->sqes_ptr, r->sqes_len);
  if (r->cq_ptr && r->cq_ptr != r->sq_ptr) munmap(r->cq_ptr, r->cq_len);
  if (r->sq_ptr) munmap(r->sq_ptr, r->sq_len);
  r->sq_ptr = r->cq_ptr = r->sqes_ptr = NULL;
  if (r->fd >= 0) close(r->fd);
  r->fd = -1;
}

static void ring_cleanup_hook(void *arg) { ring_unmap((ring_t *)arg); }

static void ring_unref(ring_t *r) {
  if (--r->refs > 0) return;
  if (!r->closed) {
    napi_remove_env_cleanup_hook(r->env, ring_cleanup_hook, r);
    ring_unmap(r);
  }
  free(r);
}

static void ring_buffer_finalize(napi_env env, void *data, void *hint) {
  ring_unref((ring_t *)hint);
}

static void ring_handle_finalize(napi_env env, void *data, void *hint) {
  ring_t *r = (ring_t *)data;
  for (int i = 0; i < 3; i++) {
    if (r->bufs[i]) napi_delete_reference(env, r->bufs[i]);
    r->bufs[i] = NULL;
  }
  ring_unref(r);
}

static napi_value external_ab(napi_env env, ring_t *r, void *ptr, size_t len, int slot) {
  napi_value ab;
  r->refs++;
  if (napi_create_external_arraybuffer(env, ptr, len, ring_buffer_finalize, r, &ab) != napi_ok) {
    r->refs--;
    return NULL;
  }
  napi_create_reference(env, ab, 0, &r->bufs[slot]);
  return ab;
}

static napi_value offsets_object(napi_env env, const uint32_t *o, const char *const *names, int n) {
  napi_value obj;
  CHECK(napi_create_object(env, &obj));
  for (int i = 0; i < n; i++)
    if (set_u32(env, obj, names[i], o[i])) return NULL;
  return obj;
}

// setup(entries, { flags, cqEntries, sqThreadIdle, sqThreadCpu, wqFd })
//   -> -errno, or { fd, handle, flags, features, sqEntries, cqEntries,
//                   sqOff, cqOff, sqRing, cqRing, sqes }
static napi_value Setup(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  uint32_t entries = 0;
  struct io_uring_params p;
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  CHECK(napi_get_value_uint32(env, argv[0], &entries));
  memset(&p, 0, sizeof p);
  if (argc > 1) {
    p.flags = opt_u32(env, argv[1], "flags");
    p.cq_entries = opt_u32(env, argv[1], "cqEntries");
    p.sq_thread_idle = opt_u32(env, argv[1], "sqThreadIdle");
    p.sq_thread_cpu = opt_u32(env, argv[1], "sqThreadCpu");
    p.wq_fd = opt_u32(env, argv[1], "wqFd");
  }
  int fd = sys_setup(entries, &p);
  if (fd < 0) return int32(env, fd);

  ring_t *r = calloc(1, sizeof *r);
  if (!r) {
    close(fd);
    return int32(env, -ENOMEM);
  }
  r->fd = fd;
  r->env = env;
  r->reg_index = -1;
  size_t cqe_size = (p.flags & IORING_SETUP_CQE32) ? 32 : 16;
  size_t sqe_size = (p.flags & IORING_SETUP_SQE128) ? 128 : 64;
  // Without the SQ index array (NO_SQARRAY) the kernel reports array = 0.
  r->sq_len = (size_t)p.sq_off.array + p.sq_entries * sizeof(uint32_t);
  r->cq_len = (size_t)p.cq_off.cqes + p.cq_entries * cqe_size;
  r->sqes_len = p.sq_entries * sqe_size;
  r->cq_head_off = p.cq_off.head;
  r->cq_tail_off = p.cq_off.tail;
  r->cq_mask_off = p.cq_off.ring_mask;
  r->cqes_off = p.cq_off.cqes;
  r->cqe_shift = cqe_size == 32 ? 5 : 4;
  r->sq_head_off = p.sq_off.head;
  r->sq_tail_off = p.sq_off.tail;
  r->sq_mask_off = p.sq_off.ring_mask;
  r->sq_entries_off = p.sq_off.ring_entries;
  r->sq_array_off = (p.flags & IORING_SETUP_NO_SQARRAY) ? 0 : p.sq_off.array;
  r->sqe_size = (uint32_t)sqe_size;
  r->setup_flags = p.flags;
  int single = (p.features & IORING_FEAT_SINGLE_MMAP) != 0;
  if (single) {
    if (r->cq_len > r->sq_len) r->sq_len = r->cq_len;
    r->cq_len = r->sq_len;
  }
  int err = 0;
  r->sq_ptr = mmap(NULL, r->sq_len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, fd,
                   IORING_OFF_SQ_RING);
  if (r->sq_ptr == MAP_FAILED) {
    err = -errno;
    r->sq_ptr = NULL;
    goto fail;
  }
  if (single) {
    r->cq_ptr = r->sq_ptr;
  } else {
    r->cq_ptr = mmap(NULL, r->cq_len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, fd,
                     IORING_OFF_CQ_RING);
    if (r->cq_ptr == MAP_FAILED) {
      err = -errno;
      r->cq_ptr = NULL;
      goto fail;
    }
  }
  r->sqes_ptr = mmap(NULL, r->sqes_len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, fd,
                     IORING_OFF_SQES);
  if (r->sqes_ptr == MAP_FAILED) {
    err = -errno;
    r->sqes_ptr = NULL;
    goto fail;
  }

  napi_value out, handle, v;
  CHECK(napi_create_object(env, &out));
  r->refs = 1;
  CHECK(napi_create_external(env, r, ring_handle_finalize, NULL, &handle));
  napi_add_env_cleanup_hook(env, ring_cleanup_hook, r);
  CHECK(napi_set_named_property(env, out, "handle", handle));
  set_u32(env, out, "fd", (uint32_t)fd);
  set_u32(env, out, "flags", p.flags);
  set_u32(env, out, "features", p.features);
  set_u32(env, out, "sqEntries", p.sq_entries);
  set_u32(env, out, "cqEntries", p.cq_entries);
  static const char *const sq_names[] = {"head", "tail", "ringMask", "ringEntries",
                                         "flags", "dropped", "array"};
  static const char *const cq_names[] = {"head", "tail", "ringMask", "ringEntries",
                                         "overflow", "cqes", "flags"};
  uint32_t sqo[7] = {p.sq_off.head, p.sq_off.tail, p.sq_off.ring_mask, p.sq_off.ring_entries,
                     p.sq_off.flags, p.sq_off.dropped, p.sq_off.array};
  uint32_t cqo[7] = {p.cq_off.head, p.cq_off.tail, p.cq_off.ring_mask, p.cq_off.ring_entries,
                     p.cq_off.overflow, p.cq_off.cqes, p.cq_off.flags};
  CHECKP(v = offsets_object(env, sqo, sq_names, 7));
  CHECK(napi_set_named_property(env, out, "sqOff", v));
  CHECKP(v = offsets_object(env, cqo, cq_names, 7));
  CHECK(napi_set_named_property(env, out, "cqOff", v));
  CHECKP(v = external_ab(env, r, r->sq_ptr, r->sq_len, 0));
  CHECK(napi_set_named_property(env, out, "sqRing", v));
  // With a single mapping the CQ view is a second ArrayBuffer over the same
  // memory, so JavaScript can treat the two rings alike.
  CHECKP(v = external_ab(env, r, r->cq_ptr, r->cq_len, 1));
  CHECK(napi_set_named_property(env, out, "cqRing", v));
  CHECKP(v = external_ab(env, r, r->sqes_ptr, r->sqes_len, 2));
  CHECK(napi_set_named_property(env, out, "sqes", v));
  return out;

fail:
  ring_unmap(r);
  free(r);
  return int32(env, err);
}

static ring_t *get_ring(napi_env env, napi_value v) {
  void *data = NULL;
  if (napi_get_value_external(env, v, &data) != napi_ok) {
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", "Expected a ring handle");
    return NULL;
  }
  return (ring_t *)data;
}

// close(handle): detach the views, cancel what is in flight, unmap, close the
// fd. Idempotent.
static napi_value Close(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  ring_t *r = get_ring(env, argv[0]);
  if (!r) return NULL;
  if (!r->closed) {
    for (int i = 0; i < 3; i++) {
      napi_value ab;
      if (r->bufs[i] && napi_get_reference_value(env, r->bufs[i], &ab) == napi_ok && ab)
        napi_detach_arraybuffer(env, ab);
    }
    napi_remove_env_cleanup_hook(env, ring_cleanup_hook, r);
    ring_unmap(r);
  }
  return NULL;
}

// ringRegistered(handle, index): the ring registered its own fd at `index`;
// teardown unregisters it.
static napi_value RingRegistered(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  int32_t index;
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  ring_t *r = get_ring(env, argv[0]);
  if (!r) return NULL;
  CHECK(napi_get_value_int32(env, argv[1], &index));
  if (!r->closed) r->reg_index = index;
  return NULL;
}

// ringOwnsFdResults(handle): the ring's user data tags fd results (see
// ring_reap_fds); those JavaScript never consumed are closed at teardown.
static napi_value RingOwnsFdResults(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  ring_t *r = get_ring(env, argv[0]);
  if (!r) return NULL;
  r->reap_fds = 1;
  return NULL;
}

static void fds_submitting(napi_env env); // the descriptor registry, below

// enter(fd, toSubmit, minComplete, flags, timeoutNs?) -> result or -errno.
// With a timeout, the wait is bounded through IORING_ENTER_EXT_ARG.
static napi_value Enter(napi_env env, napi_callback_info info) {
  size_t argc = 5;
  napi_value argv[5];
  int32_t fd;
  uint32_t submit, min, flags;
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  CHECK(napi_get_value_int32(env, argv[0], &fd));
  CHECK(napi_get_value_uint32(env, argv[1], &submit));
  CHECK(napi_get_value_uint32(env, argv[2], &min));
  CHECK(napi_get_value_uint32(env, argv[3], &flags));
  // The CLOSEs among the SQEs submitted may run from now on (FD_CLOSING).
  if (submit > 0) fds_submitting(env);
  if (argc > 4) {
    napi_valuetype t;
    CHECK(napi_typeof(env, argv[4], &t));
    if (t == napi_number) {
      double ns;
      CHECK(napi_get_value_double(env, argv[4], &ns));
      if (ns < 0) ns = 0;
      struct __kernel_timespec ts;
      ts.tv_sec = (long long)(ns / 1e9);
      ts.tv_nsec = (long long)(ns - (double)ts.tv_sec * 1e9);
      struct io_uring_getevents_arg arg;
      memset(&arg, 0, sizeof arg);
      arg.ts = (uint64_t)(uintptr_t)&ts;
      return int32(env, sys_enter(fd, submit, min, flags | IORING_ENTER_EXT_ARG, &arg, sizeof arg));
    }
  }
  return int32(env, sys_enter(fd, submit, min, flags, NULL, 0));
}

// register(fd, op, arg, nr) -> result or -errno. arg is null, a binary view
// (its address is passed), or a number passed as is.
static napi_value Register(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4];
  int32_t fd;
  uint32_t op, nr = 0;
  void *arg = NULL;
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  CHECK(napi_get_value_int32(env, argv[0], &fd));
  CHECK(napi_get_value_uint32(env, argv[1], &op));
  if (argc > 3) CHECK(napi_get_value_uint32(env, argv[3], &nr));
  if (argc > 2) {
    napi_valuetype t;
    CHECK(napi_typeof(env, argv[2], &t));
    if (t == napi_number) {
      double d;
      CHECK(napi_get_value_double(env, argv[2], &d));
      arg = (void *)(uintptr_t)d;
    } else if (t == napi_object) {
      size_t len;
      int rc = view_info(env, argv[2], &arg, &len);
      if (rc == -2) return int32(env, -EFAULT);
      if (rc < 0) {
        napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", "Expected a binary view");
        return NULL;
      }
    }
  }
  return int32(env, sys_register(fd, op, arg, nr));
}

// address(view) -> the address of its first byte as a number (x86-64 and
// arm64 user addresses fit in 2^53), or -1 for a detached buffer. Throws a
// TypeError for anything that is not a binary view.
static napi_value Address(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  void *data;
  size_t len;
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  int rc = argc < 1 ? -1 : view_info(env, argv[0], &data, &len);
  if (rc == -2) return num(env, -1);
  if (rc < 0) {
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", "Expected a binary view");
    return NULL;
  }
  return num(env, (double)(uintptr_t)data);
}

static void mapped_finalize(napi_env env, void *data, void *hint) {
  munmap(data, (size_t)(uintptr_t)hint);
}

// alignedAlloc(size) -> a zeroed, page-aligned ArrayBuffer (anonymous
// mapping), or -errno. For provided-buffer rings and aligned I/O buffers.
static napi_value AlignedAlloc(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1], ab;
  double size;
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  CHECK(napi_get_value_double(env, argv[0], &size));
  if (size <= 0) return int32(env, -EINVAL);
  size_t len = (size_t)size;
  void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) return int32(env, -errno);
  if (napi_create_external_arraybuffer(env, p, len, mapped_finalize, (void *)(uintptr_t)len,
                                       &ab) != napi_ok) {
    munmap(p, len);
    return NULL;
  }
  return ab;
}

// ---------------------------------------------------------------------------
// Descriptors this environment owns: its sockets (socket(), and accepted
// ones via ownFd) and eventfds. When the environment goes away (a worker
// ending, even by terminate(), when no JavaScript runs any more) the cleanup
// hook closes what is left, so a dead worker holds no port and no fd.
//
// JavaScript unregisters a descriptor before it closes it (closeFd does so
// itself; a close through the ring calls disownFd before the CLOSE is
// submitted): once closed, its number may be handed to another thread's
// socket, which the hook must not close.
//
// A CLOSE through the ring whose SQE is written but not yet submitted
// leaves its descriptor FD_CLOSING (closingFd): still this environment's,
// since a thread ending before the submit never closes it, until the next
// submit (fdreg_submitted, from Enter, or before an SQPOLL ring's tail
// moves), from when the kernel may have closed it and its number may be
// another thread's.
//
// A byte per descriptor number, grown on demand: fds are small and dense.

enum { FD_NOT_OWNED = 0, FD_OWNED = 1, FD_CLOSING = 2 };

typedef struct {
  uint8_t *owned;
  size_t cap;
  size_t closing; // FD_CLOSING marks set since the last fdreg_submitted (an upper bound)
} fdreg_t;

static void fdreg_close_all(fdreg_t *g) {
  g->closing = 0;
  for (size_t fd = 0; fd < g->cap; fd++)
    if (g->owned[fd]) {
      g->owned[fd] = 0;
      close((int)fd);
    }
}

// At teardown, before Node frees the environment.
static void fdreg_cleanup_hook(void *arg) { fdreg_close_all((fdreg_t *)arg); }

// Instance data finalizer: after every cleanup hook; nothing is left to close.
static void fdreg_finalize(napi_env env, void *data, void *hint) {
  fdreg_t *g = (fdreg_t *)data;
  fdreg_close_all(g);
  free(g->owned);
  free(g);
}

static fdreg_t *fdreg_get(napi_env env, int create) {
  fdreg_t *g = NULL;
  if (napi_get_instance_data(env, (void **)&g) != napi_ok) return NULL;
  if (g || !create) return g;
  g = calloc(1, sizeof *g);
  if (!g) return NULL;
  if (napi_set_instance_data(env, g, fdreg_finalize, NULL) != napi_ok) {
    free(g);
    return NULL;
  }
  napi_add_env_cleanup_hook(env, fdreg_cleanup_hook, g);
  return g;
}

static void fd_own(napi_env env, int fd) {
  if (fd < 0) return;
  fdreg_t *g = fdreg_get(env, 1);
  if (!g) return;
  if ((size_t)fd >= g->cap) {
    size_t cap = g->cap ? g->cap : 64;
    while (cap <= (size_t)fd) cap *= 2;
    uint8_t *owned = realloc(g->owned, cap);
    if (!owned) return;
    memset(owned + g->cap, 0, cap - g->cap);
    g->owned = owned;
    g->cap = cap;
  }
  g->owned[fd] = 1;
}

static void fd_disown(napi_env env, int fd) {
  fdreg_t *g = fdreg_get(env, 0);
  if (g && fd >= 0 && (size_t)fd < g->cap) g->owned[fd] = 0;
}

static void fd_closing(napi_env env, int fd) {
  fdreg_t *g = fdreg_get(env, 0);
  if (g && fd >= 0 && (size_t)fd < g->cap && g->owned[fd] == FD_OWNED) {
    g->owned[fd] = FD_CLOSING;
    g->closing++;
  }
}

// SQEs are about to reach the kernel: the CLOSEs among them may run from now on.
static void fdreg_submitted(fdreg_t *g) {
  if (!g || !g->closing) return;
  g->closing = 0;
  for (size_t fd = 0; fd < g->cap; fd++)
    if (g->owned[fd] == FD_CLOSING) g->owned[fd] = FD_NOT_OWNED;
}

// ownFd(fd) / disownFd(fd): the one argument, then fn on this environment.
static napi_value fd_call(napi_env env, napi_callback_info info, void (*fn)(napi_env, int)) {
  size_t argc = 1;
  napi_value argv[1];
  int32_t fd;
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  CHECK(napi_get_value_int32(env, argv[0], &fd));
  fn(env, fd);
  return NULL;
}

// ownFd(fd): close fd at environment teardown unless disowned first.
static napi_value OwnFd(napi_env env, napi_callback_info info) { return fd_call(env, info, fd_own); }

// disownFd(fd): JavaScript closes fd itself (through the ring).
static napi_value DisownFd(napi_env env, napi_callback_info info) { return fd_call(env, info, fd_disown); }

static void fds_submitting(napi_env env) { fdreg_submitted(fdreg_get(env, 0)); }

// closingFd(fd): a CLOSE of fd is written into a ring, not yet submitted.
static napi_value ClosingFd(napi_env env, napi_callback_info info) { return fd_call(env, info, fd_closing); }

// fdsSubmitted(): an SQPOLL ring's tail is about to move (see FD_CLOSING).
static napi_value FdsSubmitted(napi_env env, napi_callback_info info) {
  fds_submitting(env);
  return NULL;
}

// ownedFds() -> how many descriptors this environment owns (for tests).
static napi_value OwnedFds(napi_env env, napi_callback_info info) {
  fdreg_t *g = fdreg_get(env, 0);
  int32_t n = 0;
  for (size_t fd = 0; g && fd < g->cap; fd++) n += g->owned[fd];
  return int32(env, n);
}

// ringTakeFd(handle, head, fd): JavaScript consumes a tagged CQE (see
// ring_reap_fds) whose result is the new descriptor fd: fd becomes this
// environment's (fd_own), then the CQ head moves past the CQE. Both here,
// where no JavaScript runs between them: a worker terminated at any moment
// of the consume either left the CQE unconsumed (the ring's teardown closes
// its fd) or owns fd (the registry's teardown closes it), never neither.
static napi_value RingTakeFd(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  uint32_t head;
  int32_t fd;
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  ring_t *r = get_ring(env, argv[0]);
  if (!r) return NULL;
  CHECK(napi_get_value_uint32(env, argv[1], &head));
  CHECK(napi_get_value_int32(env, argv[2], &fd));
  if (r->closed || !r->cq_ptr) return NULL;
  fd_own(env, fd);
  __atomic_store_n((uint32_t *)((char *)r->cq_ptr + r->cq_head_off), head, __ATOMIC_RELEASE);
  return NULL;
}

// eventfd() -> a non-blocking, close-on-exec eventfd (owned), or -errno.
static napi_value EventFd(napi_env env, napi_callback_info info) {
  int fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (fd < 0) return int32(env, -errno);
  fd_own(env, fd);
  return int32(env, fd);
}

// closeFd(fd) -> 0 or -errno. Disowns fd first.
static napi_value CloseFd(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  int32_t fd;
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  CHECK(napi_get_value_int32(env, argv[0], &fd));
  fd_disown(env, fd);
  return int32(env, close(fd) < 0 ? -errno : 0);
}

// lseek(fd, offset, whence) -> the new offset, or -errno. io_uring has no
// seek: uring needs one only to put back a file position the kernel left
// behind (src/ops/position.ts). Offsets are safe integers in JavaScript.
static napi_value Lseek(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  int32_t fd, whence;
  int64_t off;
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 3) return int32(env, -EINVAL);
  CHECK(napi_get_value_int32(env, argv[0], &fd));
  CHECK(napi_get_value_int64(env, argv[1], &off));
  CHECK(napi_get_value_int32(env, argv[2], &whence));
  off_t r = lseek(fd, (off_t)off, whence);
  return num(env, r < 0 ? -errno : (double)r);
}

// fcntl(fd, cmd, int arg) -> its result, or -errno (F_GETFL, F_ADD_SEALS).
static napi_value Fcntl(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  int32_t fd, cmd, arg;
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 3) return int32(env, -EINVAL);
  CHECK(napi_get_value_int32(env, argv[0], &fd));
  CHECK(napi_get_value_int32(env, argv[1], &cmd));
  CHECK(napi_get_value_int32(env, argv[2], &arg));
  int r = fcntl(fd, cmd, arg);
  return int32(env, r < 0 ? -errno : r);
}

// memfdCreate(flags) -> an anonymous memory file's descriptor, or -errno.
static napi_value MemfdCreate(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  uint32_t flags;
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 1) return int32(env, -EINVAL);
  CHECK(napi_get_value_uint32(env, argv[0], &flags));
  int fd = (int)syscall(__NR_memfd_create, "uring", flags);
  return int32(env, fd < 0 ? -errno : fd);
}

// ---------------------------------------------------------------------------
// The wakeup: a libuv poll handle on the ring fd (readable when the CQ has
// entries) or on an eventfd registered with the ring (needed with
// DEFER_TASKRUN, where the ring fd never polls readable until task work is
// run). Calls back into JavaScript through napi_make_callback, so promise
// reactions and nextTicks run right after the callback, as for any Node I/O.
//
// Lifetime. uv_close only asks for the handle to be closed: libuv calls
// poller_on_close on a later loop turn, and that function lives in this
// shared object. When a worker ends and the main thread never loaded the
// addon, Node unloads it with the worker's environment: a close callback
// still pending then jumps into unmapped code (SIGSEGV). So every poller
// holds an async cleanup hook from uv_poll_init until poller_on_close:
// while one is registered Node keeps running the worker's loop at teardown,
// and poller_on_close removes it, whoever closed the handle (JavaScript,
// the finalizer, or the hook itself). The hook is never removed from inside
// itself: Node writes to the hook's record after calling it.

typedef struct {
  uv_poll_t poll;
  napi_env env;
  napi_ref cb;
  napi_ref resource;
  napi_async_context actx;
  napi_async_cleanup_hook_handle hook; // held until poller_on_close
  int fd;
  int is_eventfd;
  int closing;   // uv_close called
  int closed;    // close callback ran
  int finalized; // JS handle collected, or never handed out
} poller_t;

static void poller_free_maybe(poller_t *p) {
  if (p->closed && p->finalized) free(p);
}

static void poller_on_close(uv_handle_t *h) {
  poller_t *p = (poller_t *)h->data;
  napi_async_cleanup_hook_handle hook = p->hook;
  p->hook = NULL;
  p->closed = 1;
  poller_free_maybe(p);
  // Last: at teardown this lets the environment, and this module, go.
  if (hook) napi_remove_async_cleanup_hook(hook);
}

static void poller_stop(poller_t *p) {
  if (p->closing) return;
  p->closing = 1;
  uv_poll_stop(&p->poll);
  uv_close((uv_handle_t *)&p->poll, poller_on_close);
}

static void poller_release_js(napi_env env, poller_t *p) {
  if (p->cb) napi_delete_reference(env, p->cb);
  if (p->resource) napi_delete_reference(env, p->resource);
  if (p->actx) napi_async_destroy(env, p->actx);
  p->cb = p->resource = NULL;
  p->actx = NULL;
}

// Environment teardown (a worker ending, terminated or not): no JavaScript
// runs any more. Close the handle; poller_on_close, on a later turn of the
// loop Node keeps running for us, removes this hook.
static void poller_teardown(napi_async_cleanup_hook_handle hook, void *arg) {
  poller_t *p = (poller_t *)arg;
  p->cb = p->resource = NULL; // freed with the environment
  p->actx = NULL;
  poller_stop(p); // no-op if JavaScript closed it already: its callback is pending
}

static void poller_on_event(uv_poll_t *h, int status, int events) {
  poller_t *p = (poller_t *)h->data;
  if (p->closing || !p->cb) return;
  if (p->is_eventfd) {
    uint64_t v;
    while (read(p->fd, &v, sizeof v) < 0 && errno == EINTR) {
    }
  }
  napi_env env = p->env;
  napi_handle_scope scope;
  if (napi_open_handle_scope(env, &scope) != napi_ok) return;
  napi_value cb, recv, res;
  if (napi_get_reference_value(env, p->cb, &cb) == napi_ok && cb &&
      napi_get_reference_value(env, p->resource, &recv) == napi_ok && recv) {
    napi_status s = napi_make_callback(env, p->actx, recv, cb, 0, NULL, &res);
    if (s == napi_pending_exception) {
      napi_value err;
      if (napi_get_and_clear_last_exception(env, &err) == napi_ok) napi_fatal_exception(env, err);
    }
  }
  napi_close_handle_scope(env, scope);
}

static void poller_finalize(napi_env env, void *data, void *hint) {
  poller_t *p = (poller_t *)data;
  if (!p->closing) {
    poller_release_js(env, p);
    poller_stop(p);
  }
  p->finalized = 1;
  poller_free_maybe(p);
}

// createPoller(fd, isEventfd, callback) -> handle; starts unref'd.
static napi_value CreatePoller(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3], handle, resource, name;
  int32_t fd;
  bool is_eventfd;
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  CHECK(napi_get_value_int32(env, argv[0], &fd));
  CHECK(napi_get_value_bool(env, argv[1], &is_eventfd));
  uv_loop_t *loop;
  CHECK(napi_get_uv_event_loop(env, &loop));
  poller_t *p = calloc(1, sizeof *p);
  if (!p) return int32(env, -ENOMEM);
  p->env = env;
  p->fd = fd;
  p->is_eventfd = is_eventfd;
  int rc = uv_poll_init(loop, &p->poll, fd);
  if (rc < 0) {
    free(p);
    return int32(env, rc);
  }
  p->poll.data = p;
  // From here on the handle is closed only through poller_stop, and its
  // close callback removes the hook (see above).
  if (napi_add_async_cleanup_hook(env, poller_teardown, p, &p->hook) != napi_ok) p->hook = NULL;
  if (napi_create_object(env, &resource) != napi_ok ||
      napi_create_string_utf8(env, "URING_POLL", NAPI_AUTO_LENGTH, &name) != napi_ok ||
      napi_async_init(env, resource, name, &p->actx) != napi_ok ||
      napi_create_reference(env, argv[2], 1, &p->cb) != napi_ok ||
      napi_create_reference(env, resource, 1, &p->resource) != napi_ok) {
    rc = -ENOMEM;
  } else {
    rc = uv_poll_start(&p->poll, UV_READABLE, poller_on_event);
  }
  if (rc == 0 && napi_create_external(env, p, poller_finalize, NULL, &handle) != napi_ok)
    rc = -ENOMEM;
  if (rc < 0) {
    poller_release_js(env, p);
    p->finalized = 1;
    poller_stop(p);
    return int32(env, rc);
  }
  uv_unref((uv_handle_t *)&p->poll);
  return handle;
}

static poller_t *get_poller(napi_env env, napi_value v) {
  void *data = NULL;
  if (napi_get_value_external(env, v, &data) != napi_ok) {
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", "Expected a poller handle");
    return NULL;
  }
  return (poller_t *)data;
}

// pollerRef(handle, bool): whether the poll handle keeps the loop alive.
static napi_value PollerRef(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  bool ref;
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  poller_t *p = get_poller(env, argv[0]);
  if (!p) return NULL;
  CHECK(napi_get_value_bool(env, argv[1], &ref));
  if (!p->closing) {
    if (ref)
      uv_ref((uv_handle_t *)&p->poll);
    else
      uv_unref((uv_handle_t *)&p->poll);
  }
  return NULL;
}

// pollerClose(handle): stop watching; idempotent.
static napi_value PollerClose(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  poller_t *p = get_poller(env, argv[0]);
  if (!p) return NULL;
  if (!p->closing) {
    poller_release_js(env, p);
    poller_stop(p);
  }
  return NULL;
}

/*
 * Socket setup calls. They never block, so they are plain system calls here
 * rather than ring ops (IORING_OP_BIND/LISTEN need Linux 6.11; the ring is
 * for what waits: accept, connect, recv, send). All return -errno on failure.
 */
static int32_t arg_i32(napi_env env, napi_value v) {
  int32_t x = 0;
  napi_get_value_int32(env, v, &x);
  return x;
}

/* socket(domain, type, protocol) -> fd, owned by this environment. */
static napi_value Socket(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 3) return int32(env, -EINVAL);
  int fd = socket(arg_i32(env, argv[0]), arg_i32(env, argv[1]), arg_i32(env, argv[2]));
  if (fd < 0) return int32(env, -errno);
  fd_own(env, fd);
  return int32(env, fd);
}

/* bind(fd, sockaddr bytes) -> 0. */
static napi_value Bind(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  void *data;
  size_t len;
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 2 || view_info(env, argv[1], &data, &len) < 0) return int32(env, -EINVAL);
  return int32(env, bind(arg_i32(env, argv[0]), (const struct sockaddr *)data, (socklen_t)len) < 0 ? -errno : 0);
}

/* listen(fd, backlog) -> 0. */
static napi_value Listen(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 2) return int32(env, -EINVAL);
  return int32(env, listen(arg_i32(env, argv[0]), arg_i32(env, argv[1])) < 0 ? -errno : 0);
}

/* setsockopt(fd, level, name, int value) -> 0. SOL_SOCKET/SO_LINGER takes a
 * struct linger: value >= 0 is l_linger seconds with lingering on, < 0 off. */
static napi_value SetSockOpt(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 4) return int32(env, -EINVAL);
  int fd = arg_i32(env, argv[0]), level = arg_i32(env, argv[1]), name = arg_i32(env, argv[2]);
  int v = arg_i32(env, argv[3]);
  int rc;
  if (level == SOL_SOCKET && name == SO_LINGER) {
    struct linger l = { .l_onoff = v >= 0, .l_linger = v >= 0 ? v : 0 };
    rc = setsockopt(fd, level, name, &l, sizeof l);
  } else {
    rc = setsockopt(fd, level, name, &v, sizeof v);
  }
  return int32(env, rc < 0 ? -errno : 0);
}

/* getsockopt(fd, level, name) -> the int value (the options asked for are never negative). */
static napi_value GetSockOpt(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 3) return int32(env, -EINVAL);
  int v = 0;
  socklen_t len = sizeof v;
  int rc = getsockopt(arg_i32(env, argv[0]), arg_i32(env, argv[1]), arg_i32(env, argv[2]), &v, &len);
  return int32(env, rc < 0 ? -errno : v);
}

/* sockName(fd, buffer, peer) -> the address length written into buffer. */
static napi_value SockName(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  void *data;
  size_t len;
  bool peer = false;
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 3 || view_info(env, argv[1], &data, &len) < 0) return int32(env, -EINVAL);
  napi_get_value_bool(env, argv[2], &peer);
  socklen_t sl = (socklen_t)len;
  int fd = arg_i32(env, argv[0]);
  int rc = peer ? getpeername(fd, (struct sockaddr *)data, &sl) : getsockname(fd, (struct sockaddr *)data, &sl);
  return int32(env, rc < 0 ? -errno : (int32_t)sl);
}

NAPI_MODULE_INIT() {
  napi_property_descriptor props[] = {
      {"setup", NULL, Setup, NULL, NULL, NULL, napi_enumerable, NULL},
      {"close", NULL, Close, NULL, NULL, NULL, napi_enumerable, NULL},
      {"ringRegistered", NULL, RingRegistered, NULL, NULL, NULL, napi_enumerable, NULL},
      {"ringOwnsFdResults", NULL, RingOwnsFdResults, NULL, NULL, NULL, napi_enumerable, NULL},
      {"enter", NULL, Enter, NULL, NULL, NULL, napi_enumerable, NULL},
      {"register", NULL, Register, NULL, NULL, NULL, napi_enumerable, NULL},
      {"address", NULL, Address, NULL, NULL, NULL, napi_enumerable, NULL},
      {"alignedAlloc", NULL, AlignedAlloc, NULL, NULL, NULL, napi_enumerable, NULL},
      {"eventfd", NULL, EventFd, NULL, NULL, NULL, napi_enumerable, NULL},
      {"closeFd", NULL, CloseFd, NULL, NULL, NULL, napi_enumerable, NULL},
      {"ownFd", NULL, OwnFd, NULL, NULL, NULL, napi_enumerable, NULL},
      {"disownFd", NULL, DisownFd, NULL, NULL, NULL, napi_enumerable, NULL},
      {"ownedFds", NULL, OwnedFds, NULL, NULL, NULL, napi_enumerable, NULL},
      {"ringTakeFd", NULL, RingTakeFd, NULL, NULL, NULL, napi_enumerable, NULL},
      {"closingFd", NULL, ClosingFd, NULL, NULL, NULL, napi_enumerable, NULL},
      {"fdsSubmitted", NULL, FdsSubmitted, NULL, NULL, NULL, napi_enumerable, NULL},
      {"createPoller", NULL, CreatePoller, NULL, NULL, NULL, napi_enumerable, NULL},
      {"pollerRef", NULL, PollerRef, NULL, NULL, NULL, napi_enumerable, NULL},
      {"pollerClose", NULL, PollerClose, NULL, NULL, NULL, napi_enumerable, NULL},
      {"socket", NULL, Socket, NULL, NULL, NULL, napi_enumerable, NULL},
      {"bind", NULL, Bind, NULL, NULL, NULL, napi_enumerable, NULL},
      {"listen", NULL, Listen, NULL, NULL, NULL, napi_enumerable, NULL},
      {"setsockopt", NULL, SetSockOpt, NULL, NULL, NULL, napi_enumerable, NULL},
      {"getsockopt", NULL, GetSockOpt, NULL, NULL, NULL, napi_enumerable, NULL},
      {"sockName", NULL, SockName, NULL, NULL, NULL, napi_enumerable, NULL},
      {"lseek", NULL, Lseek, NULL, NULL, NULL, napi_enumerable, NULL},
      {"fcntl", NULL, Fcntl, NULL, NULL, NULL, napi_enumerable, NULL},
      {"memfdCreate", NULL, MemfdCreate, NULL, NULL, NULL, napi_enumerable, NULL},
  };
  if (napi_define_properties(env, exports, sizeof props / sizeof props[0], props) != napi_ok)
    return NULL;
  napi_value ps;
  if (napi_create_uint32(env, (uint32_t)sysconf(_SC_PAGESIZE), &ps) == napi_ok)
    napi_set_named_property(env, exports, "pageSize", ps);
  return exports;
}
