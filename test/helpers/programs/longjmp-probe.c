/* longjmp-probe.c - a SIGALRM handler that siglongjmps out of a blocking connect (the old way of
 * giving connect a timeout), twice, for test/native/shim-allocators.test.js. Usage:
 * longjmp-probe IP PORT. Prints one line per attempt: "attempt N: interrupted" (the connect
 * blocked until the alarm: with a proxy that never answers, the shim was at work) or
 * "attempt N: connected" / "attempt N: error ERRNO" (it returned by itself). */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static sigjmp_buf jb;
static void on_alarm(int sig) { (void)sig; siglongjmp(jb, 1); }

static void attempt(int n, const struct sockaddr_in *sa) {
  int s = socket(AF_INET, SOCK_STREAM, 0);
  if (sigsetjmp(jb, 1)) {
    printf("attempt %d: interrupted\n", n);
  } else {
    alarm(2);
    int r = connect(s, (const struct sockaddr *)sa, sizeof *sa);
    alarm(0);
    if (r == 0) printf("attempt %d: connected\n", n);
    else printf("attempt %d: error %d\n", n, errno);
  }
  fflush(stdout);
  close(s);
}

int main(int argc, char **argv) {
  if (argc != 3) return 2;
  struct sigaction act;
  memset(&act, 0, sizeof act);
  act.sa_handler = on_alarm;
  sigaction(SIGALRM, &act, NULL);
  struct sockaddr_in sa;
  memset(&sa, 0, sizeof sa);
  sa.sin_family = AF_INET;
  sa.sin_port = htons((unsigned short)atoi(argv[2]));
  if (inet_pton(AF_INET, argv[1], &sa.sin_addr) != 1) return 2;
  attempt(1, &sa);
  attempt(2, &sa);
  return 0;
}
