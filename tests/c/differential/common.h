/* Differential test, what its files share: the system headers, the
 * helpers in common.c that print case lines and format results the same
 * way on both sides (errno and EAI_* codes by name, never a descriptor or
 * a port number), the loopback setup helpers, and each area's entry
 * point, which main.c calls in order. */
#ifndef DIFFERENTIAL_COMMON_H
#define DIFFERENTIAL_COMMON_H

#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

/* The longest any single wait may take. */
#define WAIT_MS 2000

/* Case lines printed so far. */
extern int cases;

/* ---- output (common.c) ------------------------------------------------ */

/* Print one case line. */
void say(const char *name, const char *fmt, ...);
/* errno by name: the numbers differ between glibc and wasi-libc. */
const char *ename(int e);
/* getaddrinfo/getnameinfo codes by name, independent of gai_strerror. */
const char *eainame(int e);
/* `r` as a result: the number, or "-1 ENAME" with the errno `e`. */
const char *rc_str(long r, int e);

/* Evaluate a call, then format its result with the errno it left. */
extern long rc_tmp;
#define RC(expr) (rc_tmp = (long)(expr), rc_str(rc_tmp, errno))

/* Received data: `5 bytes "hello"`, or "-1 ENAME". */
const char *bytes_str(long n, int e, const char *buf);
#define GOT(expr, buf) (rc_tmp = (long)(expr), bytes_str(rc_tmp, errno, (buf)))

/* poll revents by name. */
const char *ev_str(int r);
/* An address without its port: "127.0.0.1", "::1". */
const char *addr_str(const struct sockaddr_storage *ss);
const char *family_str(int f);
const char *type_str(int t);
/* F_GETFL's answer: "O_NONBLOCK", "blocking" or "-1 ENAME". */
const char *mode_str(int fl);
unsigned port_of(const struct sockaddr_storage *ss);
/* "port>0" / "port=0", or "port=NAME" when it equals `want`. */
const char *port_str(const struct sockaddr_storage *ss, unsigned want, const char *name);
int64_t now_ms(void);

/* ---- setup helpers (common.c) ----------------------------------------- */

/* The loopback address of `fam` with `port`. */
socklen_t loopback(int fam, unsigned port, struct sockaddr_storage *ss);
/* A socket bound to loopback port 0; its address read back into `ss`. */
int bound(int fam, int type, struct sockaddr_storage *ss, socklen_t *len);
/* A listening stream socket on loopback. */
int listener(int fam, struct sockaddr_storage *ss, socklen_t *len);
/* Wait at most `ms` for `events` on fd; the revents (0 on timeout). */
int wait_fd(int fd, short events, int ms);
int set_nonblocking(int fd, bool on);
/* A connected stream pair: `c` connected, `a` accepted. Blocking both.
 * Returns 0, or -1 with nothing left open. */
int pair(int fam, int *c, int *a);
/* A free loopback port: bind a socket to port 0, read the port, close it. */
unsigned free_port(int fam);
/* Receive what is there after waiting for it; blocking recv only once
 * poll says it will not block. */
long recv_ready(int fd, char *buf, size_t len, int flags);
int get_int_opt(int fd, int level, int name);
/* An int option's value as text: the number or "-1 ENAME". */
const char *opt_str(int fd, int level, int name);

#define SETUP_FAILED(name) say(name, "setup failed: %s", ename(errno))

/* ---- areas, in the order main runs them --------------------------------- */

/* stream.c; stream_connect_sequence runs again over IPv6 in ipv6.c. */
void stream_connect_sequence(int fam, const char *prefix);
void stream_data(void);
void stream_more(void);
void stream_linger_reset(void);
void stream_refused(void);
void stream_listener_shutdown(void);
/* nonblocking.c */
void nonblocking(void);
/* poll.c */
void poll_select(void);
/* options.c */
void options(void);
/* datagram.c */
void datagram(void);
/* ipv6.c */
void ipv6(void);
/* names.c */
void names(void);
/* bad_input.c */
void bad_input(void);

#endif
