/* connect-probe: connects to IP PORT (a numeric IPv4 address), sends an HTTP/1.0 GET and prints
 * the answer. Plain libc calls, so a preloaded shim can capture the connect. Built for arm64 by
 * test/native/shim-arm64.test.js and run under qemu-user. Exit 2: bad args, 3: connect failed. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

int main(int argc, char **argv) {
    if (argc != 3) { fprintf(stderr, "usage: connect-probe IP PORT\n"); return 2; }
    struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((unsigned short)atoi(argv[2])) };
    if (inet_pton(AF_INET, argv[1], &sa.sin_addr) != 1) { fprintf(stderr, "bad address %s\n", argv[1]); return 2; }
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0) { perror("connect"); return 3; }
    const char req[] = "GET / HTTP/1.0\r\nHost: probe\r\n\r\n";
    if (write(fd, req, sizeof req - 1) != (ssize_t)(sizeof req - 1)) { perror("write"); return 3; }
    char buf[4096];
    ssize_t n;
    while ((n = read(fd, buf, sizeof buf)) > 0) fwrite(buf, 1, (size_t)n, stdout);
    close(fd);
    return 0;
}
