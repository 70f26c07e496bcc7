/* alloc-probe.c - the calls a program (or its allocator) makes before main, for
 * test/native/shim-allocators.test.js. Its own constructor, and then main, each call readlink,
 * open+read, getaddrinfo and connect (sending "ping\n" to a TCP echo service), one line per step:
 *   ctor readlink: TEXT | ctor open: CONTENT | ctor getaddrinfo: IP | ctor echo: REPLY
 *   main ... (the same)
 * (or "... error N" with errno / the EAI code). Built plain, linked with jemalloc or tcmalloc.
 * Input from the environment (a constructor has no argv): PROBE_LINK (a symlink),
 * PROBE_FILE (a file), PROBE_HOST and PROBE_PORT (the echo service). */
#define _GNU_SOURCE
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>
#include <sys/socket.h>
#include <arpa/inet.h>

static void probe(const char *when) {
  const char *link = getenv("PROBE_LINK"), *file = getenv("PROBE_FILE");
  const char *host = getenv("PROBE_HOST"), *port = getenv("PROBE_PORT");
  char buf[256];
  if (link) {
    ssize_t n = readlink(link, buf, sizeof buf - 1);
    if (n < 0) printf("%s readlink: error %d\n", when, errno);
    else printf("%s readlink: %.*s\n", when, (int)n, buf);
  }
  if (file) {
    int fd = open(file, O_RDONLY);
    ssize_t n = fd < 0 ? -1 : read(fd, buf, sizeof buf - 1);
    if (n < 0) printf("%s open: error %d\n", when, errno);
    else printf("%s open: %.*s\n", when, (int)strcspn(buf, "\n") < n ? (int)strcspn(buf, "\n") : (int)n, buf);
    if (fd >= 0) close(fd);
  }
  if (!host || !port) return;
  struct addrinfo hints = {0}, *res = NULL;
  hints.ai_family = AF_INET;
  hints.ai_socktype = SOCK_STREAM;
  int e = getaddrinfo(host, port, &hints, &res);
  if (e != 0) {
    printf("%s getaddrinfo: error %d\n", when, e);
    return;
  }
  char ip[64];
  inet_ntop(AF_INET, &((struct sockaddr_in *)res->ai_addr)->sin_addr, ip, sizeof ip);
  printf("%s getaddrinfo: %s\n", when, ip);
  int s = socket(AF_INET, SOCK_STREAM, 0);
  if (connect(s, res->ai_addr, res->ai_addrlen) != 0) {
    printf("%s echo: error %d\n", when, errno);
  } else {
    ssize_t n = write(s, "ping\n", 5) == 5 ? read(s, buf, sizeof buf - 1) : -1;
    if (n <= 0) printf("%s echo: error %d\n", when, errno);
    else printf("%s echo: %.*s\n", when, (int)strcspn(buf, "\n") < n ? (int)strcspn(buf, "\n") : (int)n, buf);
  }
  close(s);
  freeaddrinfo(res);
}

__attribute__((constructor)) static void before_main(void) { probe("ctor"); }

int main(void) {
  char *p = malloc(1 << 20); /* the allocator at work, too */
  if (!p) return 2;
  memset(p, 1, 1 << 20);
  free(p);
  probe("main");
  return 0;
}
