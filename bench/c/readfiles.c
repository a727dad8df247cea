// The C reference for bench/fs-files.ts: read many whole files through
// io_uring with raw system calls (no liburing). Each file is one linked
// chain on a direct descriptor,
//
//   openat(dir/<i>) into slot s --HARDLINK--> read(s, buf, bufsize) --HARDLINK--> close(s)
//
// with as many chains in flight as the ring allows (`depth`, at most a third
// of the SQ so a full round of chains fits in one submit). A chain's three
// CQEs free its slot, and the next file starts in that slot.
//
//   readfiles <dir> <nfiles> <bufsize> <depth> <warmup-ms> <milliseconds> [keep]
//     -> prints {"files":N,"seconds":S,"bytes":B,"errors":E} on one line
//
// Reads the files <dir>/0 .. <dir>/<nfiles-1> over and over in whole
// passes: for `warmup-ms` (at least one pass), then counted, until
// `milliseconds` have passed (at least one pass).
//
// By default every read lands in the slot's own scratch buffer, reused file
// after file (hot in the CPU cache): the least any program can do. With
// `keep`, each file's bytes are then copied into memory of their own
// (malloc of the file's size), kept until the end of the pass and freed
// together, as a program that holds every file at once must: what readFiles
// does when it hands back one Buffer per file. (glibc is told to keep freed
// memory, so later passes reuse pages already faulted in: the cheapest
// such a program can get.)
#define _GNU_SOURCE
#include <fcntl.h>
#include <malloc.h>
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

struct ring {
  int fd;
  unsigned sq_entries;
  uint32_t *sq_tail, *sq_head, *sq_array, sq_mask, tail;
  uint32_t *cq_head, *cq_tail, cq_mask;
  struct io_uring_sqe *sqes;
  struct io_uring_cqe *cqes;
};

static int ring_init(struct ring *r, unsigned entries) {
  struct io_uring_params p;
  memset(&p, 0, sizeof p);
  p.flags = IORING_SETUP_CQSIZE;
  p.cq_entries = entries * 4;
  r->fd = (int)syscall(__NR_io_uring_setup, entries, &p);
  if (r->fd < 0) return -1;
  size_t sq_len = p.sq_off.array + p.sq_entries * sizeof(uint32_t);
  size_t cq_len = p.cq_off.cqes + p.cq_entries * sizeof(struct io_uring_cqe);
  if (cq_len > sq_len) sq_len = cq_len; // one mapping (IORING_FEAT_SINGLE_MMAP)
  uint8_t *ring = mmap(NULL, sq_len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, r->fd, IORING_OFF_SQ_RING);
  r->sqes = mmap(NULL, p.sq_entries * sizeof(struct io_uring_sqe), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE,
                 r->fd, IORING_OFF_SQES);
  if (ring == MAP_FAILED || r->sqes == MAP_FAILED) return -1;
  r->sq_entries = p.sq_entries;
  r->sq_tail = (uint32_t *)(ring + p.sq_off.tail);
  r->sq_head = (uint32_t *)(ring + p.sq_off.head);
  r->sq_array = (uint32_t *)(ring + p.sq_off.array);
  r->sq_mask = *(uint32_t *)(ring + p.sq_off.ring_mask);
  r->cq_head = (uint32_t *)(ring + p.cq_off.head);
  r->cq_tail = (uint32_t *)(ring + p.cq_off.tail);
  r->cq_mask = *(uint32_t *)(ring + p.cq_off.ring_mask);
  r->cqes = (struct io_uring_cqe *)(ring + p.cq_off.cqes);
  for (unsigned i = 0; i < p.sq_entries; i++) r->sq_array[i] = i; // slot i -> SQE i, once
  r->tail = *r->sq_tail;
  return 0;
}

static struct io_uring_sqe *get_sqe(struct ring *r) {
  struct io_uring_sqe *sqe = &r->sqes[r->tail & r->sq_mask];
  r->tail++;
  memset(sqe, 0, sizeof *sqe);
  return sqe;
}

// user_data: slot << 2 | step (0 open, 1 read, 2 close)
int main(int argc, char **argv) {
  if (argc < 7) {
    fprintf(stderr, "usage: readfiles <dir> <nfiles> <bufsize> <depth> <warmup-ms> <milliseconds> [keep]\n");
    return 2;
  }
  const char *dir = argv[1];
  unsigned nfiles = (unsigned)atoi(argv[2]);
  size_t bufsize = (size_t)atol(argv[3]);
  unsigned depth = (unsigned)atoi(argv[4]);
  double warm = atof(argv[5]) / 1000, ms = atof(argv[6]) / 1000;
  int keep = argc > 7 && strcmp(argv[7], "keep") == 0;
  if (keep) {
    // Memory freed at the end of a pass stays with the process for the
    // next one: without this, glibc hands it back and every pass faults
    // it in again (on these VMs 64 KiB files then ran 6x slower).
    mallopt(M_TRIM_THRESHOLD, 1 << 30);
    mallopt(M_MMAP_THRESHOLD, 1 << 30);
  }

  struct ring r;
  unsigned entries = 256;
  while (entries < depth * 3) entries *= 2;
  if (ring_init(&r, entries) < 0) {
    perror("io_uring_setup");
    return 1;
  }
  // A sparse table of `depth` direct descriptors.
  struct io_uring_rsrc_register reg;
  memset(&reg, 0, sizeof reg);
  reg.nr = depth;
  reg.flags = IORING_RSRC_REGISTER_SPARSE;
  if (syscall(__NR_io_uring_register, r.fd, IORING_REGISTER_FILES2, &reg, sizeof reg) < 0) {
    perror("io_uring_register(FILES2, sparse)");
    return 1;
  }
  size_t stride = (bufsize + 4095) & ~(size_t)4095;
  uint8_t *bufs = mmap(NULL, stride * depth, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
  if (bufs == MAP_FAILED) {
    perror("mmap");
    return 1;
  }
  // Paths made once, as the JavaScript side gets them as an array.
  char **paths = malloc(nfiles * sizeof *paths);
  for (unsigned i = 0; i < nfiles; i++) {
    if (asprintf(&paths[i], "%s/%u", dir, i) < 0) return 1;
  }
  uint8_t **kept = calloc(nfiles, sizeof *kept);
  unsigned *pending = calloc(depth, sizeof *pending); // CQEs still owed per slot
  unsigned *file_of = calloc(depth, sizeof *file_of); // the file each slot is reading
  unsigned *free_slots = malloc(depth * sizeof *free_slots);
  unsigned nfree = depth;
  for (unsigned i = 0; i < depth; i++) free_slots[i] = depth - 1 - i;

  uint64_t files = 0, bytes = 0, errors = 0;
  double start = now(), end = start + warm;
  int measuring = 0;
  for (;;) {
    // One pass over all the files.
    unsigned next = 0, done = 0;
    while (done < nfiles) {
      while (next < nfiles && nfree > 0) {
        unsigned s = free_slots[--nfree];
        struct io_uring_sqe *sqe = get_sqe(&r);
        sqe->opcode = IORING_OP_OPENAT;
        sqe->fd = AT_FDCWD;
        sqe->addr = (uintptr_t)paths[next];
        sqe->open_flags = O_RDONLY;
        sqe->file_index = s + 1;
        sqe->flags = IOSQE_IO_HARDLINK;
        sqe->user_data = (uint64_t)s << 2 | 0;
        sqe = get_sqe(&r);
        sqe->opcode = IORING_OP_READ;
        sqe->fd = (int)s;
        sqe->addr = (uintptr_t)(bufs + (size_t)s * stride);
        sqe->len = (uint32_t)bufsize;
        sqe->off = 0;
        sqe->flags = IOSQE_FIXED_FILE | IOSQE_IO_HARDLINK;
        sqe->user_data = (uint64_t)s << 2 | 1;
        sqe = get_sqe(&r);
        sqe->opcode = IORING_OP_CLOSE;
        sqe->file_index = s + 1;
        sqe->user_data = (uint64_t)s << 2 | 2;
        file_of[s] = next;
        pending[s] = 3;
        next++;
      }
      store_release(r.sq_tail, r.tail);
      unsigned to_submit = r.tail - load_acquire(r.sq_head); // what the kernel has not taken yet
      int ret = (int)syscall(__NR_io_uring_enter, r.fd, to_submit, 1, IORING_ENTER_GETEVENTS, NULL, 0);
      if (ret < 0) {
        perror("io_uring_enter");
        return 1;
      }
      uint32_t head = *r.cq_head, t = load_acquire(r.cq_tail);
      while (head != t) {
        struct io_uring_cqe *cqe = &r.cqes[head & r.cq_mask];
        unsigned s = (unsigned)(cqe->user_data >> 2), step = (unsigned)(cqe->user_data & 3);
        if (step == 1) {
          if (cqe->res >= 0) {
            bytes += (uint64_t)cqe->res;
            if (keep) {
              kept[file_of[s]] = malloc((size_t)cqe->res + 1);
              memcpy(kept[file_of[s]], bufs + (size_t)s * stride, (size_t)cqe->res);
            }
          } else {
            errors++;
          }
        } else if (step == 0 && cqe->res < 0) {
          errors++;
        }
        if (--pending[s] == 0) {
          free_slots[nfree++] = s;
          done++;
          files++;
        }
        head++;
      }
      store_release(r.cq_head, head);
    }
    if (keep) {
      for (unsigned i = 0; i < nfiles; i++) free(kept[i]), kept[i] = NULL;
    }
    double t = now();
    if (t < end) continue;
    if (measuring) break;
    // Warm-up over: count from here.
    measuring = 1;
    files = bytes = errors = 0;
    start = t;
    end = t + ms;
  }
  printf("{\"files\":%llu,\"seconds\":%.6f,\"bytes\":%llu,\"errors\":%llu}\n", (unsigned long long)files,
         now() - start, (unsigned long long)bytes, (unsigned long long)errors);
  return 0;
}
