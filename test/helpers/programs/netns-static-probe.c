/* The statically linked C program of test/e2e/run-netns.test.js (gcc -static): resolves HOST with
 * getaddrinfo, connects to PORT and prints what comes back: for port 80 an HTTP/1.0 GET's answer,
 * otherwise the echo of "static-ping\n". Exit 2: no such name, 3: connect failed, 4: no answer. */
#include <netdb.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

int main(int argc, char **argv) {
  if (argc != 3) return 1;
  struct addrinfo hints = {0}, *res;
  hints.ai_family = AF_INET;
  hints.ai_socktype = SOCK_STREAM;
  int e = getaddrinfo(argv[1], argv[2], &hints, &res);
  if (e) {
    fprintf(stderr, "getaddrinfo %s: %s\n", argv[1], gai_strerror(e));
    return 2;
  }
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (connect(fd, res->ai_addr, res->ai_addrlen)) {
    perror("connect");
    return 3;
  }
  int http = strcmp(argv[2], "80") == 0;
  char req[512];
  if (http) snprintf(req, sizeof req, "GET / HTTP/1.0\r\nHost: %s\r\n\r\n", argv[1]);
  else snprintf(req, sizeof req, "static-ping\n");
  if (write(fd, req, strlen(req)) < 0) return 3;
  char buf[4096];
  ssize_t n, total = 0;
  while ((n = read(fd, buf, sizeof buf)) > 0) {
    fwrite(buf, 1, (size_t)n, stdout);
    total += n;
    if (!http && memchr(buf, '\n', (size_t)n)) break;
  }
  return total > 0 ? 0 : 4;
}
