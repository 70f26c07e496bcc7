/* res-probe.c - glibc's own DNS client, for shim tests: res_query, res_search, res_nquery
 * (a private state), res_querydomain and res_mkquery + res_send for NAME; prints each A answer
 * (or "error") on its own line "FUNCTION: ADDRESS". */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <arpa/nameser.h>
#include <netinet/in.h>
#include <resolv.h>
#include <stdio.h>
#include <string.h>

static void show(const char *what, int n, const unsigned char *ans) {
  if (n < 16 || ((ans[6] << 8) | ans[7]) < 1) { printf("%s: error\n", what); return; }
  printf("%s: %u.%u.%u.%u\n", what, ans[n - 4], ans[n - 3], ans[n - 2], ans[n - 1]);
}

int main(int argc, char **argv) {
  const char *name = argc > 1 ? argv[1] : "localhost";
  unsigned char ans[4096], q[512];
  int n = res_query(name, C_IN, T_A, ans, sizeof ans);
  show("res_query", n, ans);
  n = res_search(name, C_IN, T_A, ans, sizeof ans);
  show("res_search", n, ans);
  struct __res_state st;
  memset(&st, 0, sizeof st);
  if (res_ninit(&st) == 0) {
    n = res_nquery(&st, name, C_IN, T_A, ans, sizeof ans);
    show("res_nquery", n, ans);
    res_nclose(&st);
  }
  char head[256], *dot;
  snprintf(head, sizeof head, "%s", name);
  dot = strchr(head, '.');
  if (dot) {
    *dot = 0;
    n = res_querydomain(head, dot + 1, C_IN, T_A, ans, sizeof ans);
    show("res_querydomain", n, ans);
  }
  int ql = res_mkquery(QUERY, name, C_IN, T_A, NULL, 0, NULL, q, sizeof q);
  n = ql > 0 ? res_send(q, ql, ans, sizeof ans) : -1;
  show("res_send", n, ans);
  return 0;
}
