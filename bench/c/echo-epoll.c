// The C reference TCP echo server on epoll: one thread, non-blocking sockets,
// level-triggered; on readable, read once and write it back.
//
//   echo-epoll <port> [--host 127.0.0.1]
//
// Prints "listening <port>" (the bound port, so 0 picks one) and serves until
// SIGTERM or SIGINT. Bytes the socket did not take at once are kept per
// connection; the connection then waits for EPOLLOUT and is not read until
// they are gone (backpressure).
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#define BUF_SIZE 65536

struct conn {
  uint8_t *pending; // bytes read but not yet written back
  size_t len, off;
};

static volatile sig_atomic_t stop;
static void on_signal(int sig) {
  (void)sig;
  stop = 1;
}

static void close_conn(int ep, struct conn *c, int fd) {
  epoll_ctl(ep, EPOLL_CTL_DEL, fd, NULL);
  close(fd);
  free(c->pending);
  memset(c, 0, sizeof *c);
}

// Write what is pending; 1 when all gone, 0 when the socket is full, -1 on error.
static int flush(struct conn *c, int fd) {
  while (c->off < c->len) {
    ssize_t n = send(fd, c->pending + c->off, c->len - c->off, MSG_NOSIGNAL);
    if (n < 0) return errno == EAGAIN ? 0 : -1;
    c->off += (size_t)n;
  }
  c->off = c->len = 0;
  return 1;
}

int main(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: %s <port> [--host 127.0.0.1]\n", argv[0]);
    return 2;
  }
  int port = atoi(argv[1]);
  const char *host = "127.0.0.1";
  for (int i = 2; i + 1 < argc; i++)
    if (!strcmp(argv[i], "--host")) host = argv[i + 1];

  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_signal; // no SA_RESTART: epoll_wait returns EINTR
  sigaction(SIGTERM, &sa, NULL);
  sigaction(SIGINT, &sa, NULL);
  signal(SIGPIPE, SIG_IGN);

  struct rlimit rl;
  getrlimit(RLIMIT_NOFILE, &rl);
  unsigned max_conns = rl.rlim_cur > 65536 ? 65536 : (unsigned)rl.rlim_cur;
  struct conn *conns = calloc(max_conns, sizeof *conns);
  static uint8_t buf[BUF_SIZE];

  int lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
  int one = 1;
  setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
  if (inet_pton(AF_INET, host, &addr.sin_addr) != 1) {
    fprintf(stderr, "bad IPv4 address: %s\n", host);
    return 2;
  }
  if (bind(lfd, (struct sockaddr *)&addr, sizeof addr) < 0 || listen(lfd, 4096) < 0) {
    perror("bind/listen");
    return 1;
  }
  socklen_t alen = sizeof addr;
  getsockname(lfd, (struct sockaddr *)&addr, &alen);

  int ep = epoll_create1(0);
  struct epoll_event ev = {.events = EPOLLIN, .data.fd = lfd};
  epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev);
  printf("listening %d\n", ntohs(addr.sin_port));
  fflush(stdout);

  struct epoll_event events[256];
  while (!stop) {
    int n = epoll_wait(ep, events, 256, -1);
    if (n < 0) {
      if (errno == EINTR) continue;
      perror("epoll_wait");
      return 1;
    }
    for (int i = 0; i < n; i++) {
      int fd = events[i].data.fd;
      if (fd == lfd) {
        for (;;) {
          int cfd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK);
          if (cfd < 0) break;
          if ((unsigned)cfd >= max_conns) {
            close(cfd);
            continue;
          }
          setsockopt(cfd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
          struct epoll_event cev = {.events = EPOLLIN, .data.fd = cfd};
          epoll_ctl(ep, EPOLL_CTL_ADD, cfd, &cev);
        }
        continue;
      }
      struct conn *c = &conns[fd];
      if (events[i].events & EPOLLOUT) {
        int r = flush(c, fd);
        if (r < 0) {
          close_conn(ep, c, fd);
          continue;
        }
        if (r > 0) { // drained: read again
          struct epoll_event cev = {.events = EPOLLIN, .data.fd = fd};
          epoll_ctl(ep, EPOLL_CTL_MOD, fd, &cev);
        }
        continue;
      }
      if (!(events[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR))) continue;
      ssize_t got = recv(fd, buf, BUF_SIZE, 0);
      if (got < 0 && errno == EAGAIN) continue;
      if (got <= 0) {
        close_conn(ep, c, fd);
        continue;
      }
      ssize_t sent = send(fd, buf, (size_t)got, MSG_NOSIGNAL);
      if (sent < 0 && errno != EAGAIN) {
        close_conn(ep, c, fd);
        continue;
      }
      if (sent < 0) sent = 0;
      if (sent < got) { // keep the rest, wait until writable
        c->pending = realloc(c->pending, (size_t)(got - sent));
        memcpy(c->pending, buf + sent, (size_t)(got - sent));
        c->len = (size_t)(got - sent);
        c->off = 0;
        struct epoll_event cev = {.events = EPOLLOUT, .data.fd = fd};
        epoll_ctl(ep, EPOLL_CTL_MOD, fd, &cev);
      }
    }
  }
  return 0;
}
