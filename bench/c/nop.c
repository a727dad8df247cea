// The C reference for the NOP benchmark: io_uring through raw system calls
// (no liburing), submitting NOPs in batches and reaping every completion.
//
//   nop <batch> <milliseconds>   -> prints "<ops> <seconds>" on one line
//
// Same shape as bench/nop.ts: fill `batch` SQEs, one io_uring_enter that
// submits them and waits for as many completions, drain the CQ, repeat.
#define _GNU_SOURCE
#include <linux/io_uring.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define load_acquire(p) atomic_load_explicit((_Atomic uint32_t *)(p), memory_order_acquire)
#define store_release(p, v) atomic_store_explicit((_Atomic uint32_t *)(p), (v), memory_order_release)

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(int argc, char **argv) {
  unsigned batch = argc > 1 ? (unsigned)atoi(argv[1]) : 32;
  double ms = argc > 2 ? atof(argv[2]) : 1000;
  struct io_uring_params p;
  memset(&p, 0, sizeof p);
  int fd = (int)syscall(__NR_io_uring_setup, 256, &p);
  if (fd < 0) {
    perror("io_uring_setup");
    return 1;
  }
  if (batch < 1 || batch > p.sq_entries) {
    fprintf(stderr, "batch must be 1..%u\n", p.sq_entries);
    return 2;
  }
  size_t sq_len = p.sq_off.array + p.sq_entries * sizeof(uint32_t);
  size_t cq_len = p.cq_off.cqes + p.cq_entries * sizeof(struct io_uring_cqe);
  if (cq_len > sq_len) sq_len = cq_len; // one mapping (IORING_FEAT_SINGLE_MMAP)
  uint8_t *ring = mmap(NULL, sq_len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, fd, IORING_OFF_SQ_RING);
  struct io_uring_sqe *sqes = mmap(NULL, p.sq_entries * sizeof(struct io_uring_sqe), PROT_READ | PROT_WRITE,
                                   MAP_SHARED | MAP_POPULATE, fd, IORING_OFF_SQES);
  if (ring == MAP_FAILED || sqes == MAP_FAILED) {
    perror("mmap");
    return 1;
  }
  uint32_t *sq_tail = (uint32_t *)(ring + p.sq_off.tail);
  uint32_t *sq_array = (uint32_t *)(ring + p.sq_off.array);
  uint32_t sq_mask = *(uint32_t *)(ring + p.sq_off.ring_mask);
  uint32_t *cq_head = (uint32_t *)(ring + p.cq_off.head);
  uint32_t *cq_tail = (uint32_t *)(ring + p.cq_off.tail);
  uint32_t cq_mask = *(uint32_t *)(ring + p.cq_off.ring_mask);
  struct io_uring_cqe *cqes = (struct io_uring_cqe *)(ring + p.cq_off.cqes);
  for (unsigned i = 0; i < p.sq_entries; i++) sq_array[i] = i; // slot i -> SQE i, once

  uint32_t tail = *sq_tail;
  uint64_t ops = 0, check = 0;
  double start = now(), end = start + ms / 1000;
  while (now() < end) {
    for (int r = 0; r < 64; r++) {
      for (unsigned i = 0; i < batch; i++) {
        struct io_uring_sqe *sqe = &sqes[tail & sq_mask];
        memset(sqe, 0, sizeof *sqe);
        sqe->opcode = IORING_OP_NOP;
        sqe->fd = -1;
        sqe->user_data = i;
        tail++;
      }
      store_release(sq_tail, tail);
      int ret = (int)syscall(__NR_io_uring_enter, fd, batch, batch, IORING_ENTER_GETEVENTS, NULL, 0);
      if (ret < 0) {
        perror("io_uring_enter");
        return 1;
      }
      uint32_t head = *cq_head, t = load_acquire(cq_tail);
      while (head != t) {
        check += cqes[head & cq_mask].user_data;
        head++;
        ops++;
      }
      store_release(cq_head, head);
    }
  }
  printf("%llu %.6f %llu\n", (unsigned long long)ops, now() - start, (unsigned long long)check);
  return 0;
}
