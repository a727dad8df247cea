// The load generator for the echo benchmark: N TCP connections, each playing
// ping-pong (send a message of S bytes, wait for all S bytes of the echo and
// check them, send again), single-threaded (it runs pinned to its own core).
//
//   loadgen [-c conns=64] [-s size=64] [-w warmup_s=1] [-d duration_s=3]
//           [-p server_pid] [-e epoll|uring] <host> <port>
//
// -e uring drives the same loop through io_uring (raw system calls: one recv
// and one send SQE per message, one io_uring_enter per batch). On these
// machines it was not cheaper than epoll (a recv that finds no data arms a
// poll and finishes from task work), so epoll is the default.
//
// After the warmup it counts, for D seconds, the messages whose echo came back
// complete, and prints one JSON line:
//   {"conns":64,"size":64,"seconds":3.000,"messages":N,"msgs_per_s":X,
//    "p50_us":..,"p99_us":..,"errors":0,"loadgen_cpu_s":..,"server_cpu_s":..,
//    "all_cpu_busy_s":..}
// p50/p99: round trip of one message, from its send to the last byte of its
// echo (log-linear histogram, ~1.6% resolution). server_cpu_s: utime+stime of
// -p's process (all its threads, /proc/<pid>/stat) over the same window, so
// CPU per message needs no clock shared with the caller. all_cpu_busy_s: busy
// time of all CPUs (/proc/stat), so that busy - server - loadgen is what other
// processes (and interrupts) took in the window. errors: connections
// that failed plus echoes that differed from what was sent.
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/io_uring.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

struct conn {
  int fd;
  uint32_t sent, got; // bytes of the current message written / echoed back
  uint64_t t0;        // ns: when the current message started
  int dead;
};

static uint64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

// Log-linear histogram of nanoseconds: 64 linear sub-buckets per power of two.
#define SUB 64
static uint64_t hist[64 * SUB];
static unsigned bucket(uint64_t v) {
  if (v < SUB) return (unsigned)v;
  unsigned e = 63 - (unsigned)__builtin_clzll(v); // >= 6
  return (e - 5) * SUB + (unsigned)((v >> (e - 6)) & (SUB - 1));
}
static uint64_t bucket_value(unsigned b) {
  if (b < SUB) return b;
  unsigned e = b / SUB + 5, sub = b % SUB;
  return ((uint64_t)(SUB + sub) << (e - 6)) + ((uint64_t)1 << (e - 6)) / 2; // bucket middle
}
static double percentile(uint64_t total, double q) {
  uint64_t want = (uint64_t)(q * (double)total), seen = 0;
  for (unsigned b = 0; b < 64 * SUB; b++) {
    seen += hist[b];
    if (seen > want) return (double)bucket_value(b) / 1000.0;
  }
  return 0;
}

static double proc_cpu_s(int pid) {
  if (pid <= 0) return -1;
  char path[64], buf[2048];
  snprintf(path, sizeof path, "/proc/%d/stat", pid);
  FILE *f = fopen(path, "r");
  if (!f) return -1;
  size_t n = fread(buf, 1, sizeof buf - 1, f);
  fclose(f);
  buf[n] = 0;
  char *p = strrchr(buf, ')'); // the command name may hold spaces
  if (!p) return -1;
  unsigned long utime = 0, stime = 0;
  // after ')': state(3) ppid pgrp session tty_nr tpgid flags minflt cminflt majflt cmajflt utime(14) stime(15)
  if (sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &utime, &stime) != 2) return -1;
  return (double)(utime + stime) / (double)sysconf(_SC_CLK_TCK);
}

// Busy time of all CPUs (user+nice+system+irq+softirq+steal, /proc/stat), in
// seconds: what neither the server nor we used was someone else's.
static double all_busy_s(void) {
  FILE *f = fopen("/proc/stat", "r");
  if (!f) return -1;
  unsigned long long v[8] = {0};
  int n = fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5], &v[6], &v[7]);
  fclose(f);
  if (n != 8) return -1;
  return (double)(v[0] + v[1] + v[2] + v[5] + v[6] + v[7]) / (double)sysconf(_SC_CLK_TCK);
}

static double self_cpu_s(void) {
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + (double)ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
}

// ---- state shared by both engines ------------------------------------------------

static int nconns = 64, size = 64, server_pid;
static struct conn *conns;
static uint8_t *msg;
static uint64_t errors, measured;
static uint64_t t_start, t_end, t_first; // ns: window planned start, end; when it really opened
static double srv0, self0, busy0;
static int alive;

// The clock moved to t: open the window when due. Returns 1 once it is over.
static int tick(uint64_t t) {
  if (!t_first && t >= t_start) {
    t_first = t;
    measured = 0;
    srv0 = proc_cpu_s(server_pid);
    self0 = self_cpu_s();
    busy0 = all_busy_s();
  }
  return t >= t_end;
}

static void fail(struct conn *c) {
  c->dead = 1;
  errors++;
  alive--;
  close(c->fd);
}

// got bytes of echo arrived for c (in buf) at t. Returns 1 when the message is complete.
static int echoed(struct conn *c, const uint8_t *buf, uint32_t got, uint64_t t) {
  if (memcmp(buf, msg + c->got, got)) errors++;
  c->got += got;
  if (c->got < (uint32_t)size) return 0;
  if (t_first) {
    measured++;
    hist[bucket(t - c->t0)]++;
  }
  c->got = c->sent = 0;
  c->t0 = t;
  return 1;
}

// ---- epoll --------------------------------------------------------------------------

static int ep;

// Write the rest of the current message; wait for EPOLLOUT if the socket is full.
static void push(int i) {
  struct conn *c = &conns[i];
  while (c->sent < (uint32_t)size) {
    ssize_t n = send(c->fd, msg + c->sent, (size_t)size - c->sent, MSG_NOSIGNAL);
    if (n < 0) {
      if (errno != EAGAIN) {
        fail(c);
      } else {
        struct epoll_event ev = {.events = EPOLLIN | EPOLLOUT, .data.u32 = (uint32_t)i};
        epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev);
      }
      return;
    }
    c->sent += (uint32_t)n;
  }
}

static uint64_t run_epoll(uint64_t t) {
  uint8_t *rbuf = malloc((size_t)size);
  ep = epoll_create1(0);
  for (int i = 0; i < nconns; i++) {
    fcntl(conns[i].fd, F_SETFL, fcntl(conns[i].fd, F_GETFL) | O_NONBLOCK);
    struct epoll_event ev = {.events = EPOLLIN, .data.u32 = (uint32_t)i};
    epoll_ctl(ep, EPOLL_CTL_ADD, conns[i].fd, &ev);
    push(i);
  }
  struct epoll_event events[512];
  while (alive > 0 && !tick(t)) {
    int timeout_ms = (int)(((t_first ? t_end : t_start) - t) / 1000000) + 1;
    int n = epoll_wait(ep, events, 512, timeout_ms);
    if (n < 0 && errno != EINTR) {
      perror("epoll_wait");
      exit(1);
    }
    t = now_ns();
    for (int k = 0; k < n; k++) {
      int i = (int)events[k].data.u32;
      struct conn *c = &conns[i];
      if (c->dead) continue;
      if (events[k].events & EPOLLOUT) {
        push(i);
        if (c->sent == (uint32_t)size && !c->dead) {
          struct epoll_event ev = {.events = EPOLLIN, .data.u32 = (uint32_t)i};
          epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev);
        }
      }
      if (!(events[k].events & (EPOLLIN | EPOLLHUP | EPOLLERR)) || c->dead) continue;
      ssize_t got = recv(c->fd, rbuf, (size_t)size - c->got, 0);
      if (got < 0 && errno == EAGAIN) continue;
      if (got <= 0) {
        fail(c);
        continue;
      }
      if (echoed(c, rbuf, (uint32_t)got, t)) push(i);
    }
  }
  return t;
}

// ---- io_uring -------------------------------------------------------------------------

#define load_acquire(p) atomic_load_explicit((_Atomic uint32_t *)(p), memory_order_acquire)
#define store_release(p, v) atomic_store_explicit((_Atomic uint32_t *)(p), (v), memory_order_release)

static struct {
  int fd;
  uint32_t *sq_khead, *sq_ktail, sq_mask, sq_entries, sq_tail;
  uint32_t *cq_khead, *cq_ktail, cq_mask;
  struct io_uring_sqe *sqes;
  struct io_uring_cqe *cqes;
} ring;

static int ring_enter(unsigned wait, struct __kernel_timespec *ts) {
  // Release: the SQE contents must be visible before the kernel sees the tail.
  store_release(ring.sq_ktail, ring.sq_tail);
  unsigned pending = ring.sq_tail - load_acquire(ring.sq_khead);
  struct io_uring_getevents_arg arg = {.ts = (uint64_t)(uintptr_t)ts};
  int ret = (int)syscall(__NR_io_uring_enter, ring.fd, pending, wait,
                         IORING_ENTER_GETEVENTS | (ts ? IORING_ENTER_EXT_ARG : 0), ts ? &arg : NULL, sizeof arg);
  return ret < 0 ? -errno : ret;
}

static struct io_uring_sqe *ring_sqe(void) {
  while (ring.sq_tail - load_acquire(ring.sq_khead) >= ring.sq_entries) ring_enter(0, NULL);
  struct io_uring_sqe *sqe = &ring.sqes[ring.sq_tail++ & ring.sq_mask];
  memset(sqe, 0, sizeof *sqe);
  return sqe;
}

enum { OP_SEND = 1, OP_RECV = 2 };

static void queue_send(int i) {
  struct io_uring_sqe *sqe = ring_sqe();
  sqe->opcode = IORING_OP_SEND;
  sqe->fd = conns[i].fd;
  sqe->addr = (uint64_t)(uintptr_t)(msg + conns[i].sent);
  sqe->len = (uint32_t)size - conns[i].sent;
  sqe->msg_flags = MSG_NOSIGNAL;
  sqe->user_data = ((uint64_t)OP_SEND << 32) | (uint32_t)i;
}

static void queue_recv(int i, uint8_t *buf) {
  struct io_uring_sqe *sqe = ring_sqe();
  sqe->opcode = IORING_OP_RECV;
  sqe->fd = conns[i].fd;
  sqe->addr = (uint64_t)(uintptr_t)buf;
  sqe->len = (uint32_t)size - conns[i].got;
  sqe->user_data = ((uint64_t)OP_RECV << 32) | (uint32_t)i;
}

static uint64_t run_uring(uint64_t t) {
  struct io_uring_params p;
  memset(&p, 0, sizeof p);
  p.flags = IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN | IORING_SETUP_CQSIZE;
  p.cq_entries = 4 * (unsigned)nconns + 64;
  unsigned entries = 2 * (unsigned)nconns + 8;
  ring.fd = (int)syscall(__NR_io_uring_setup, entries, &p);
  if (ring.fd < 0) {
    perror("io_uring_setup");
    exit(1);
  }
  size_t sq_len = p.sq_off.array + p.sq_entries * sizeof(uint32_t);
  size_t cq_len = p.cq_off.cqes + p.cq_entries * sizeof(struct io_uring_cqe);
  if (cq_len > sq_len) sq_len = cq_len; // one mapping (IORING_FEAT_SINGLE_MMAP)
  uint8_t *m = mmap(NULL, sq_len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, ring.fd, IORING_OFF_SQ_RING);
  ring.sqes = mmap(NULL, p.sq_entries * sizeof(struct io_uring_sqe), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE,
                   ring.fd, IORING_OFF_SQES);
  if (m == MAP_FAILED || ring.sqes == MAP_FAILED) {
    perror("mmap");
    exit(1);
  }
  ring.sq_khead = (uint32_t *)(m + p.sq_off.head);
  ring.sq_ktail = (uint32_t *)(m + p.sq_off.tail);
  ring.sq_mask = *(uint32_t *)(m + p.sq_off.ring_mask);
  ring.sq_entries = p.sq_entries;
  ring.sq_tail = *ring.sq_ktail;
  uint32_t *array = (uint32_t *)(m + p.sq_off.array);
  for (unsigned k = 0; k < p.sq_entries; k++) array[k] = k;
  ring.cq_khead = (uint32_t *)(m + p.cq_off.head);
  ring.cq_ktail = (uint32_t *)(m + p.cq_off.tail);
  ring.cq_mask = *(uint32_t *)(m + p.cq_off.ring_mask);
  ring.cqes = (struct io_uring_cqe *)(m + p.cq_off.cqes);

  uint8_t *rbufs = malloc((size_t)nconns * (size_t)size); // one per connection: a recv lands in place
  for (int i = 0; i < nconns; i++) {
    queue_send(i);
    queue_recv(i, rbufs + (size_t)i * size);
  }
  while (alive > 0 && !tick(t)) {
    uint64_t left = (t_first ? t_end : t_start) - t + 1000000;
    struct __kernel_timespec ts = {.tv_sec = (long long)(left / 1000000000u), .tv_nsec = (long long)(left % 1000000000u)};
    int ret = ring_enter(1, &ts);
    if (ret < 0 && ret != -EINTR && ret != -ETIME && ret != -EBUSY) {
      fprintf(stderr, "io_uring_enter: %s\n", strerror(-ret));
      exit(1);
    }
    t = now_ns();
    // Acquire: the CQEs up to the tail are written before we read them.
    uint32_t head = *ring.cq_khead, tail = load_acquire(ring.cq_ktail);
    for (; head != tail; head++) {
      struct io_uring_cqe *cqe = &ring.cqes[head & ring.cq_mask];
      int i = (int)(uint32_t)cqe->user_data, op = (int)(cqe->user_data >> 32), res = cqe->res;
      struct conn *c = &conns[i];
      if (c->dead) continue;
      if (res <= 0) { // an error, or EOF on a recv (a send of 0 bytes never happens here)
        fail(c);
        continue;
      }
      uint8_t *buf = rbufs + (size_t)i * size;
      if (op == OP_SEND) {
        c->sent += (uint32_t)res;
        if (c->sent < (uint32_t)size) queue_send(i); // short send: the rest
      } else if (echoed(c, buf, (uint32_t)res, t)) {
        queue_send(i);
        queue_recv(i, buf);
      } else {
        queue_recv(i, buf + c->got); // more of this echo to come
      }
    }
    // Release: done reading those CQEs; the kernel may reuse the slots.
    store_release(ring.cq_khead, head);
  }
  return t;
}

// ---- main ---------------------------------------------------------------------------

int main(int argc, char **argv) {
  double warmup = 1, duration = 3;
  const char *engine = "epoll";
  int opt;
  const char *usage = "usage: %s [-c conns] [-s size] [-w warmup_s] [-d duration_s] [-p server_pid] [-e epoll|uring] host port\n";
  while ((opt = getopt(argc, argv, "c:s:w:d:p:e:")) != -1) {
    switch (opt) {
    case 'c': nconns = atoi(optarg); break;
    case 's': size = atoi(optarg); break;
    case 'w': warmup = atof(optarg); break;
    case 'd': duration = atof(optarg); break;
    case 'p': server_pid = atoi(optarg); break;
    case 'e': engine = optarg; break;
    default: fprintf(stderr, usage, argv[0]); return 2;
    }
  }
  if (optind + 2 != argc || nconns < 1 || size < 1 || (strcmp(engine, "epoll") && strcmp(engine, "uring"))) {
    fprintf(stderr, usage, argv[0]);
    return 2;
  }
  signal(SIGPIPE, SIG_IGN);
  struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons((uint16_t)atoi(argv[optind + 1]))};
  if (inet_pton(AF_INET, argv[optind], &addr.sin_addr) != 1) {
    fprintf(stderr, "bad IPv4 address: %s\n", argv[optind]);
    return 2;
  }

  msg = malloc((size_t)size);
  for (int i = 0; i < size; i++) msg[i] = (uint8_t)('a' + i % 26);
  conns = calloc((size_t)nconns, sizeof *conns);
  int one = 1;
  for (int i = 0; i < nconns; i++) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0 || connect(fd, (struct sockaddr *)&addr, sizeof addr) < 0) {
      fprintf(stderr, "connect %d: %s\n", i, strerror(errno));
      return 1;
    }
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    conns[i].fd = fd;
  }
  alive = nconns;
  uint64_t t = now_ns();
  t_start = t + (uint64_t)(warmup * 1e9);
  t_end = t_start + (uint64_t)(duration * 1e9);
  for (int i = 0; i < nconns; i++) conns[i].t0 = t;

  t = strcmp(engine, "uring") ? run_epoll(t) : run_uring(t);

  if (!t_first) t_first = t;
  double srv1 = proc_cpu_s(server_pid), self1 = self_cpu_s(), busy1 = all_busy_s();
  double secs = (double)(t - t_first) / 1e9;
  printf("{\"engine\":\"%s\",\"conns\":%d,\"size\":%d,\"warmup_s\":%g,\"seconds\":%.4f,\"messages\":%llu,"
         "\"msgs_per_s\":%.1f,\"p50_us\":%.1f,\"p99_us\":%.1f,\"errors\":%llu,\"loadgen_cpu_s\":%.3f,"
         "\"server_cpu_s\":%.3f,\"all_cpu_busy_s\":%.3f}\n",
         engine, nconns, size, warmup, secs, (unsigned long long)measured, secs > 0 ? (double)measured / secs : 0,
         percentile(measured, 0.50), percentile(measured, 0.99), (unsigned long long)errors, self1 - self0,
         server_pid > 0 && srv0 >= 0 && srv1 >= 0 ? srv1 - srv0 : -1.0, busy0 >= 0 && busy1 >= 0 ? busy1 - busy0 : -1.0);
  fflush(stdout);
  for (int i = 0; i < nconns; i++)
    if (!conns[i].dead) close(conns[i].fd);
  return errors && !measured ? 1 : 0;
}
