/* resolver-probe.c - calls libc's name functions directly (for shim tests), one line each:
 *   resolver-probe NAME  ->  gethostbyname / gethostbyname2(AF_INET, AF_INET6) / gethostbyname_r with a
 *   tiny and a big buffer / gethostbyname2_r / getaddrinfo (AF_UNSPEC, AF_INET+SOCK_DGRAM with a service,
 *   AI_PASSIVE with a NULL node, AI_NUMERICHOST) / gethostbyaddr on the result. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <string.h>

static void show_he(const char *what, struct hostent *he, int herr) {
  char buf[INET6_ADDRSTRLEN];
  if (!he) { printf("%s: error h_errno=%d\n", what, herr); return; }
  inet_ntop(he->h_addrtype, he->h_addr_list[0], buf, sizeof buf);
  printf("%s: %s %s len=%d\n", what, he->h_name, buf, he->h_length);
}

static void show_ai(const char *what, int r, struct addrinfo *res) {
  if (r != 0) { printf("%s: error %d\n", what, r); return; }
  printf("%s:", what);
  for (struct addrinfo *ai = res; ai; ai = ai->ai_next) {
    char host[INET6_ADDRSTRLEN] = "?";
    int port = 0;
    if (ai->ai_family == AF_INET) {
      struct sockaddr_in *a = (struct sockaddr_in *)ai->ai_addr;
      inet_ntop(AF_INET, &a->sin_addr, host, sizeof host); port = ntohs(a->sin_port);
    } else if (ai->ai_family == AF_INET6) {
      struct sockaddr_in6 *a = (struct sockaddr_in6 *)ai->ai_addr;
      inet_ntop(AF_INET6, &a->sin6_addr, host, sizeof host); port = ntohs(a->sin6_port);
    }
    printf(" %s/%d/%s", host, port, ai->ai_socktype == SOCK_STREAM ? "tcp" : ai->ai_socktype == SOCK_DGRAM ? "udp" : "raw");
  }
  printf("\n");
  freeaddrinfo(res);
}

int main(int argc, char **argv) {
  const char *name = argc > 1 ? argv[1] : "localhost";
  struct hostent *h1 = gethostbyname(name);
  show_he("gethostbyname", h1, h_errno);
  h1 = gethostbyname2(name, AF_INET);
  show_he("gethostbyname2/4", h1, h_errno);
  h1 = gethostbyname2(name, AF_INET6);
  show_he("gethostbyname2/6", h1, h_errno);
  struct hostent he, *res = NULL;
  char small[8], big[2048];
  int herr = 0;
  int r = gethostbyname_r(name, &he, small, sizeof small, &res, &herr);
  printf("gethostbyname_r/small: %s\n", r == ERANGE ? "ERANGE" : res ? "ok" : "error");
  r = gethostbyname_r(name, &he, big, sizeof big, &res, &herr);
  show_he("gethostbyname_r", res, herr);
  r = gethostbyname2_r(name, AF_INET, &he, big, sizeof big, &res, &herr);
  show_he("gethostbyname2_r", res, herr);
  struct addrinfo hints, *ai = NULL;
  memset(&hints, 0, sizeof hints);
  r = getaddrinfo(name, NULL, NULL, &ai);
  show_ai("getaddrinfo", r, ai);
  hints.ai_family = AF_INET;
  hints.ai_socktype = SOCK_DGRAM;
  ai = NULL;
  r = getaddrinfo(name, "domain", &hints, &ai);
  show_ai("getaddrinfo/udp", r, ai);
  memset(&hints, 0, sizeof hints);
  hints.ai_flags = AI_PASSIVE;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_family = AF_INET;
  ai = NULL;
  r = getaddrinfo(NULL, "8080", &hints, &ai);
  show_ai("getaddrinfo/passive", r, ai);
  hints.ai_flags = AI_NUMERICHOST;
  ai = NULL;
  r = getaddrinfo(name, "80", &hints, &ai);
  show_ai("getaddrinfo/numerichost", r, ai);
  struct hostent *h = gethostbyname(name);
  if (h) {
    char addr[16];
    memcpy(addr, h->h_addr_list[0], (size_t)h->h_length);
    struct hostent *h2 = gethostbyaddr(addr, (socklen_t)h->h_length, h->h_addrtype);
    show_he("gethostbyaddr", h2, h_errno);
  }
  return 0;
}
