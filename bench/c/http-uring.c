// The C reference minimal HTTP/1.1 responder on io_uring, through raw system
// calls (no liburing): one thread, one ring. The same responder as the
// "minimal" variants of bench/net-http.ts: it parses just enough to find the end
// of each request head ("\r\n\r\n", tracked across chunks; no bodies), and
// answers each with one fixed 200 response saying "hello", keeping the
// connection open (HTTP/1.1 keep-alive; pipelined requests get their
// responses in order).
//
//   http-uring <port> [--host 127.0.0.1] [--bufs 256] [--buf-size 4096]
//              [--mode defer|coop|plain]
//
// Prints "listening <port>" (the bound port, so 0 picks one) and serves until
// SIGTERM or SIGINT.
//
// Multishot accept; per connection a multishot recv on a provided-buffer ring;
// a buffer goes back to the ring as soon as it is scanned; the responses come
// from one static buffer (RESPONSE repeated), one send in flight per
// connection, the count of responses owed kept beside it.
#include "uring.h"

// ---- the server -------------------------------------------------------------------

static const char RESPONSE[] = "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 5\r\n\r\nhello";
#define RESPONSE_LEN (sizeof RESPONSE - 1)
#define BATCH 64 // responses in the static buffer: the most one send carries
static char responses[BATCH * RESPONSE_LEN];

enum { OP_ACCEPT = 1, OP_RECV = 2, OP_SEND = 3 };
#define UD(op, fd) (((uint64_t)(op) << 32) | (uint32_t)(fd))

struct conn {
  uint32_t owed;    // responses not yet handed to a send
  uint32_t off;     // bytes of the send in flight already sent (short sends)
  uint32_t len;     // bytes of the send in flight
  uint8_t matched;  // how much of "\r\n\r\n" the bytes so far end with
  uint8_t open, recv_armed, send_inflight, want_rearm;
  uint8_t eof;      // the peer sent FIN: answer what was asked, then close
  uint8_t dead;     // an error: close
};

static struct ring ring;
static struct bufring bufs;
static struct conn *conns;
static unsigned max_conns;
static int *rearm_list, rearm_n;
static int listen_fd;
static volatile sig_atomic_t stop;

static void on_signal(int sig) {
  (void)sig;
  stop = 1;
}

static void arm_accept(void) {
  struct io_uring_sqe *sqe = ring_sqe(&ring);
  sqe->opcode = IORING_OP_ACCEPT;
  sqe->fd = listen_fd;
  sqe->ioprio = IORING_ACCEPT_MULTISHOT;
  sqe->user_data = UD(OP_ACCEPT, listen_fd);
}

static void arm_recv(int fd) {
  struct io_uring_sqe *sqe = ring_sqe(&ring);
  sqe->opcode = IORING_OP_RECV;
  sqe->fd = fd;
  sqe->ioprio = IORING_RECV_MULTISHOT;
  sqe->flags = IOSQE_BUFFER_SELECT;
  sqe->buf_group = 0;
  sqe->user_data = UD(OP_RECV, fd);
  conns[fd].recv_armed = 1;
}

// Send what is owed (up to BATCH responses), or the rest of a short send.
static void send_owed(int fd) {
  struct conn *c = &conns[fd];
  if (c->off == c->len) {
    uint32_t n = c->owed < BATCH ? c->owed : BATCH;
    c->owed -= n;
    c->len = n * (uint32_t)RESPONSE_LEN;
    c->off = 0;
  }
  struct io_uring_sqe *sqe = ring_sqe(&ring);
  sqe->opcode = IORING_OP_SEND;
  sqe->fd = fd;
  sqe->addr = (uint64_t)(uintptr_t)(responses + c->off);
  sqe->len = c->len - c->off;
  sqe->msg_flags = MSG_NOSIGNAL;
  sqe->user_data = UD(OP_SEND, fd);
  c->send_inflight = 1;
}

static void maybe_close(int fd) {
  struct conn *c = &conns[fd];
  if (!c->open || c->recv_armed || c->send_inflight || c->want_rearm) return;
  if (!c->dead && !(c->eof && !c->owed && c->off == c->len)) return;
  close(fd);
  c->open = 0;
}

// Count the request heads that end in these bytes: "\r\n\r\n", even split across chunks.
static uint32_t count_requests(struct conn *c, const uint8_t *p, uint32_t n) {
  uint32_t found = 0;
  uint8_t m = c->matched;
  for (uint32_t i = 0; i < n; i++) {
    uint8_t ch = p[i];
    if (ch == ((m & 1) ? '\n' : '\r')) {
      if (++m == 4) {
        found++;
        m = 0;
      }
    } else {
      m = ch == '\r';
    }
  }
  c->matched = m;
  return found;
}

static void on_accept(struct io_uring_cqe *cqe) {
  if (!(cqe->flags & IORING_CQE_F_MORE)) arm_accept(); // the multishot ended (error, or kernel's choice)
  int fd = cqe->res;
  if (fd < 0) return;
  if ((unsigned)fd >= max_conns) {
    close(fd);
    return;
  }
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  struct conn *c = &conns[fd];
  memset(c, 0, sizeof *c);
  c->open = 1;
  arm_recv(fd);
}

static void on_recv(int fd, struct io_uring_cqe *cqe) {
  struct conn *c = &conns[fd];
  int more = cqe->flags & IORING_CQE_F_MORE;
  if (!more) c->recv_armed = 0;
  if (cqe->res > 0) {
    uint16_t bid = (uint16_t)(cqe->flags >> IORING_CQE_BUFFER_SHIFT);
    c->owed += count_requests(c, bufs.mem + (size_t)bid * bufs.size, (uint32_t)cqe->res);
    bufring_add(&bufs, bid); // scanned: the buffer can take the next chunk
    if (c->owed && !c->send_inflight && !c->dead) send_owed(fd);
    if (!more && !c->dead) arm_recv(fd);
  } else if (cqe->res == -ENOBUFS) {
    if (!more && !c->want_rearm) { // re-arm once buffers are back (after this batch)
      c->want_rearm = 1;
      rearm_list[rearm_n++] = fd;
    }
  } else if (cqe->res == 0) { // the peer closed its side: answer the rest, then close
    c->eof = 1;
  } else {
    c->dead = 1;
    if (more) shutdown(fd, SHUT_RDWR);
  }
  maybe_close(fd);
}

static void on_send(int fd, struct io_uring_cqe *cqe) {
  struct conn *c = &conns[fd];
  c->send_inflight = 0;
  if (cqe->res < 0) {
    c->dead = 1;
    if (c->recv_armed) shutdown(fd, SHUT_RDWR); // ends the multishot recv
  } else {
    c->off += (uint32_t)cqe->res;
    if ((c->off < c->len || c->owed) && !c->dead) send_owed(fd);
  }
  maybe_close(fd);
}

static unsigned arg_uint(int argc, char **argv, const char *name, unsigned def) {
  for (int i = 1; i + 1 < argc; i++)
    if (!strcmp(argv[i], name)) return (unsigned)strtoul(argv[i + 1], NULL, 0);
  return def;
}

static const char *arg_str(int argc, char **argv, const char *name, const char *def) {
  for (int i = 1; i + 1 < argc; i++)
    if (!strcmp(argv[i], name)) return argv[i + 1];
  return def;
}

int main(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: %s <port> [--host 127.0.0.1] [--bufs 256] [--buf-size 4096] [--mode defer|coop|plain]\n",
            argv[0]);
    return 2;
  }
  int port = atoi(argv[1]);
  const char *host = arg_str(argc, argv, "--host", "127.0.0.1");
  unsigned nbufs = arg_uint(argc, argv, "--bufs", 256);
  unsigned buf_size = arg_uint(argc, argv, "--buf-size", 4096);
  const char *mode = arg_str(argc, argv, "--mode", "defer");
  if (nbufs < 1 || nbufs > 32768 || (nbufs & (nbufs - 1))) {
    fprintf(stderr, "--bufs must be a power of two, 1..32768\n");
    return 2;
  }
  unsigned flags = 0;
  if (!strcmp(mode, "defer")) flags = IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN;
  else if (!strcmp(mode, "coop")) flags = IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_COOP_TASKRUN;
  else if (strcmp(mode, "plain")) {
    fprintf(stderr, "--mode must be defer, coop or plain\n");
    return 2;
  }

  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_signal; // no SA_RESTART: io_uring_enter returns EINTR
  sigaction(SIGTERM, &sa, NULL);
  sigaction(SIGINT, &sa, NULL);
  signal(SIGPIPE, SIG_IGN);

  struct rlimit rl;
  getrlimit(RLIMIT_NOFILE, &rl);
  max_conns = rl.rlim_cur > 65536 ? 65536 : (unsigned)rl.rlim_cur;
  conns = calloc(max_conns, sizeof *conns);
  for (unsigned i = 0; i < BATCH; i++) memcpy(responses + i * RESPONSE_LEN, RESPONSE, RESPONSE_LEN);
  rearm_list = calloc(max_conns, sizeof *rearm_list);

  listen_fd = socket(AF_INET, SOCK_STREAM, 0);
  int one = 1;
  setsockopt(listen_fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
  if (inet_pton(AF_INET, host, &addr.sin_addr) != 1) {
    fprintf(stderr, "bad IPv4 address: %s\n", host);
    return 2;
  }
  if (bind(listen_fd, (struct sockaddr *)&addr, sizeof addr) < 0 || listen(listen_fd, 4096) < 0) {
    perror("bind/listen");
    return 1;
  }
  socklen_t alen = sizeof addr;
  getsockname(listen_fd, (struct sockaddr *)&addr, &alen);

  int ret = ring_init(&ring, 1024, 8192, flags);
  if (ret < 0) {
    fprintf(stderr, "io_uring_setup: %s\n", strerror(-ret));
    return 1;
  }
  if ((ret = bufring_init(&ring, &bufs, nbufs, buf_size, 0)) < 0) {
    fprintf(stderr, "IORING_REGISTER_PBUF_RING: %s\n", strerror(-ret));
    return 1;
  }
  for (unsigned i = 0; i < nbufs; i++) bufring_add(&bufs, (uint16_t)i);
  bufring_publish(&bufs);

  arm_accept();
  printf("listening %d\n", ntohs(addr.sin_port));
  fflush(stdout);

  while (!stop) {
    ret = ring_enter(&ring, 1);
    if (ret < 0 && ret != -EINTR && ret != -EBUSY && ret != -EAGAIN) {
      fprintf(stderr, "io_uring_enter: %s\n", strerror(-ret));
      return 1;
    }
    // Acquire: the CQEs up to the tail are written before we read them.
    uint32_t head = *ring.cq_khead, tail = load_acquire(ring.cq_ktail);
    for (; head != tail; head++) {
      struct io_uring_cqe *cqe = &ring.cqes[head & ring.cq_mask];
      int op = (int)(cqe->user_data >> 32), fd = (int)(uint32_t)cqe->user_data;
      if (op == OP_RECV) on_recv(fd, cqe);
      else if (op == OP_SEND) on_send(fd, cqe);
      else if (op == OP_ACCEPT) on_accept(cqe);
    }
    // Release: we are done reading those CQEs; the kernel may reuse the slots.
    store_release(ring.cq_khead, head);
    bufring_publish(&bufs);
    for (int i = 0; i < rearm_n; i++) { // connections that ran out of buffers
      int fd = rearm_list[i];
      conns[fd].want_rearm = 0;
      if (conns[fd].open && !conns[fd].dead) arm_recv(fd);
      else maybe_close(fd);
    }
    rearm_n = 0;
  }
  return 0;
}
