// The C reference for bench/fs-read.ts: random 4 KiB reads from one file
// through io_uring with raw system calls (no liburing). `depth` reads are in
// flight; each completion's buffer goes straight back out with a new random
// offset, and every loop is one io_uring_enter that submits the refills and
// waits for at least one completion.
//
//   randread <file> <depth> <warmup-ms> <milliseconds>
//     -> prints {"ops":N,"seconds":S,"errors":E} on one line
#define _GNU_SOURCE
#include <fcntl.h>
#include <linux/io_uring.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define BS 4096

#define load_acquire(p) atomic_load_explicit((_Atomic uint32_t *)(p), memory_order_acquire)
#define store_release(p, v) atomic_store_explicit((_Atomic uint32_t *)(p), (v), memory_order_release)

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

static uint64_t rng = 0x9e3779b97f4a7c15ull;
static uint64_t next_rand(void) { // xorshift64
  rng ^= rng << 13;
  rng ^= rng >> 7;
  rng ^= rng << 17;
  return rng;
}

int main(int argc, char **argv) {
  if (argc < 5) {
    fprintf(stderr, "usage: randread <file> <depth> <warmup-ms> <milliseconds>\n");
    return 2;
  }
  int file = open(argv[1], O_RDONLY);
  if (file < 0) {
    perror("open");
    return 1;
  }
  struct stat st;
  fstat(file, &st);
  uint64_t blocks = (uint64_t)st.st_size / BS;
  unsigned depth = (unsigned)atoi(argv[2]);
  double warm = atof(argv[3]) / 1000, ms = atof(argv[4]) / 1000;
  if (blocks == 0 || depth < 1 || depth > 1024) {
    fprintf(stderr, "need a file of at least 4 KiB and depth 1..1024\n");
    return 2;
  }

  struct io_uring_params p;
  memset(&p, 0, sizeof p);
  unsigned entries = 64;
  while (entries < depth) entries *= 2;
  int fd = (int)syscall(__NR_io_uring_setup, entries, &p);
  if (fd < 0) {
    perror("io_uring_setup");
    return 1;
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

  uint8_t *bufs = mmap(NULL, (size_t)depth * BS, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
  uint32_t tail = *sq_tail;
  unsigned queued = 0;
  // One read into buffer `i` at a random block.
#define QUEUE(i)                                                   \
  do {                                                             \
    struct io_uring_sqe *sqe = &sqes[tail & sq_mask];              \
    memset(sqe, 0, sizeof *sqe);                                   \
    sqe->opcode = IORING_OP_READ;                                  \
    sqe->fd = file;                                                \
    sqe->addr = (uintptr_t)(bufs + (size_t)(i) * BS);              \
    sqe->len = BS;                                                 \
    sqe->off = (next_rand() % blocks) * BS;                        \
    sqe->user_data = (i);                                          \
    tail++;                                                        \
    queued++;                                                      \
  } while (0)

  for (unsigned i = 0; i < depth; i++) QUEUE(i);
  uint64_t ops = 0, errors = 0, counted_from = 0;
  double start = now(), measure = start + warm, end = measure + ms, t = start;
  int measuring = 0;
  for (;;) {
    store_release(sq_tail, tail);
    int ret = (int)syscall(__NR_io_uring_enter, fd, queued, 1, IORING_ENTER_GETEVENTS, NULL, 0);
    if (ret < 0) {
      perror("io_uring_enter");
      return 1;
    }
    queued -= (unsigned)ret;
    uint32_t head = *cq_head, ct = load_acquire(cq_tail);
    while (head != ct) {
      struct io_uring_cqe *cqe = &cqes[head & cq_mask];
      if (cqe->res != BS) errors++;
      ops++;
      QUEUE((unsigned)cqe->user_data);
      head++;
    }
    store_release(cq_head, head);
    t = now();
    if (!measuring && t >= measure) {
      measuring = 1;
      counted_from = ops;
      measure = t;
      end = t + ms;
    } else if (measuring && t >= end) {
      break;
    }
  }
  printf("{\"ops\":%llu,\"seconds\":%.6f,\"errors\":%llu}\n", (unsigned long long)(ops - counted_from), t - measure,
         (unsigned long long)errors);
  return 0;
}
