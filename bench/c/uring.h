// What the C benchmark servers share: an io_uring ring on raw system calls
// (no liburing) and a provided-buffer ring. Static functions: each program
// includes this once and compiles what it uses.
#ifndef BENCH_URING_H
#define BENCH_URING_H
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <linux/io_uring.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#define load_acquire(p) atomic_load_explicit((_Atomic uint32_t *)(p), memory_order_acquire)
#define store_release(p, v) atomic_store_explicit((_Atomic uint32_t *)(p), (v), memory_order_release)
#define store_release16(p, v) atomic_store_explicit((_Atomic uint16_t *)(p), (v), memory_order_release)

// ---- the ring ---------------------------------------------------------------

struct ring {
  int fd;
  unsigned enter_flags;
  uint32_t *sq_khead, *sq_ktail, sq_mask, sq_entries, sq_tail;
  uint32_t *cq_khead, *cq_ktail, cq_mask;
  struct io_uring_sqe *sqes;
  struct io_uring_cqe *cqes;
};

static int ring_init(struct ring *r, unsigned entries, unsigned cq_entries, unsigned flags) {
  struct io_uring_params p;
  memset(&p, 0, sizeof p);
  p.flags = flags | IORING_SETUP_CQSIZE;
  p.cq_entries = cq_entries;
  r->fd = (int)syscall(__NR_io_uring_setup, entries, &p);
  if (r->fd < 0) return -errno;
  size_t sq_len = p.sq_off.array + p.sq_entries * sizeof(uint32_t);
  size_t cq_len = p.cq_off.cqes + p.cq_entries * sizeof(struct io_uring_cqe);
  if (cq_len > sq_len) sq_len = cq_len; // one mapping (IORING_FEAT_SINGLE_MMAP)
  uint8_t *m = mmap(NULL, sq_len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, r->fd, IORING_OFF_SQ_RING);
  r->sqes = mmap(NULL, p.sq_entries * sizeof(struct io_uring_sqe), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE,
                 r->fd, IORING_OFF_SQES);
  if (m == MAP_FAILED || r->sqes == MAP_FAILED) return -errno;
  r->sq_khead = (uint32_t *)(m + p.sq_off.head);
  r->sq_ktail = (uint32_t *)(m + p.sq_off.tail);
  r->sq_mask = *(uint32_t *)(m + p.sq_off.ring_mask);
  r->sq_entries = p.sq_entries;
  r->sq_tail = *r->sq_ktail;
  uint32_t *array = (uint32_t *)(m + p.sq_off.array);
  for (unsigned i = 0; i < p.sq_entries; i++) array[i] = i; // slot i -> SQE i, once
  r->cq_khead = (uint32_t *)(m + p.cq_off.head);
  r->cq_ktail = (uint32_t *)(m + p.cq_off.tail);
  r->cq_mask = *(uint32_t *)(m + p.cq_off.ring_mask);
  r->cqes = (struct io_uring_cqe *)(m + p.cq_off.cqes);
  r->enter_flags = 0;
  return 0;
}

// Publish the SQEs written so far and enter; waits for `wait` completions.
static int ring_enter(struct ring *r, unsigned wait) {
  // Release: the SQE contents must be visible before the kernel sees the tail.
  store_release(r->sq_ktail, r->sq_tail);
  // Acquire pairs with the kernel's release of khead after it read the SQEs.
  unsigned pending = r->sq_tail - load_acquire(r->sq_khead);
  int ret = (int)syscall(__NR_io_uring_enter, r->fd, pending, wait, wait ? IORING_ENTER_GETEVENTS : 0, NULL, 0);
  return ret < 0 ? -errno : ret;
}

static struct io_uring_sqe *ring_sqe(struct ring *r) {
  while (r->sq_tail - load_acquire(r->sq_khead) >= r->sq_entries) {
    int ret = ring_enter(r, 0); // SQ full: hand the batch over first
    if (ret < 0 && ret != -EINTR && ret != -EBUSY && ret != -EAGAIN) {
      fprintf(stderr, "io_uring_enter: %s\n", strerror(-ret));
      exit(1);
    }
  }
  struct io_uring_sqe *sqe = &r->sqes[r->sq_tail & r->sq_mask];
  r->sq_tail++;
  memset(sqe, 0, sizeof *sqe);
  return sqe;
}

// ---- the provided-buffer ring -------------------------------------------------

struct bufring {
  struct io_uring_buf_ring *br;
  uint8_t *mem;
  unsigned count, size, mask;
  uint16_t tail; // local; published to br->tail in one store per batch
};

static int bufring_init(struct ring *r, struct bufring *b, unsigned count, unsigned size, uint16_t bgid) {
  b->count = count;
  b->size = size;
  b->mask = count - 1;
  // The ring itself must be page-aligned memory the kernel pins.
  b->br = mmap(NULL, count * sizeof(struct io_uring_buf), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  b->mem = mmap(NULL, (size_t)count * size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
  if (b->br == MAP_FAILED || b->mem == MAP_FAILED) return -errno;
  struct io_uring_buf_reg reg;
  memset(&reg, 0, sizeof reg);
  reg.ring_addr = (uint64_t)(uintptr_t)b->br;
  reg.ring_entries = count;
  reg.bgid = bgid;
  if (syscall(__NR_io_uring_register, r->fd, IORING_REGISTER_PBUF_RING, &reg, 1) < 0) return -errno;
  b->tail = 0;
  return 0;
}

static void bufring_add(struct bufring *b, uint16_t bid) {
  struct io_uring_buf *e = &b->br->bufs[b->tail & b->mask];
  e->addr = (uint64_t)(uintptr_t)(b->mem + (size_t)bid * b->size);
  e->len = b->size;
  e->bid = bid;
  b->tail++;
}

static void bufring_publish(struct bufring *b) {
  // Release: the entries written above before the kernel sees the new tail.
  store_release16(&b->br->tail, b->tail);
}

#endif
