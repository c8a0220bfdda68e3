/* sys/socket.h for wasock: wasi-libc's header, plus the calls it leaves
 * out (preview 1 has no bind, connect, listen, sendto...), which the
 * wasock C library implements. */
#ifndef WASOCK_SYS_SOCKET_H
#define WASOCK_SYS_SOCKET_H

#include_next <sys/socket.h>

#ifdef __cplusplus
extern "C" {
#endif

int socket(int domain, int type, int protocol);
int socketpair(int domain, int type, int protocol, int fds[2]);
int bind(int fd, const struct sockaddr *addr, socklen_t len);
int connect(int fd, const struct sockaddr *addr, socklen_t len);
int listen(int fd, int backlog);
int accept4(int fd, struct sockaddr *__restrict addr, socklen_t *__restrict len, int flags);
int getsockname(int fd, struct sockaddr *__restrict addr, socklen_t *__restrict len);
int getpeername(int fd, struct sockaddr *__restrict addr, socklen_t *__restrict len);
ssize_t sendto(int fd, const void *buf, size_t len, int flags, const struct sockaddr *to,
               socklen_t tolen);
ssize_t recvfrom(int fd, void *__restrict buf, size_t len, int flags,
                 struct sockaddr *__restrict from, socklen_t *__restrict fromlen);
ssize_t sendmsg(int fd, const struct msghdr *msg, int flags);
ssize_t recvmsg(int fd, struct msghdr *msg, int flags);
int setsockopt(int fd, int level, int name, const void *val, socklen_t len);

/* wasi-libc defines SOCK_*, AF_INET/AF_INET6/AF_UNSPEC, SOL_SOCKET,
 * SO_TYPE, SHUT_*, MSG_PEEK and MSG_WAITALL with values of its own and
 * hides the rest; these are the rest, with Linux's values where they
 * do not collide with wasi-libc's. */
#define PF_UNSPEC AF_UNSPEC
#define PF_INET AF_INET
#define PF_INET6 AF_INET6

#define SOMAXCONN 4096

#define SO_DEBUG 1
#define SO_REUSEADDR 2
#define SO_ERROR 4
#define SO_DONTROUTE 5
#define SO_BROADCAST 6
#define SO_SNDBUF 7
#define SO_RCVBUF 8
#define SO_KEEPALIVE 9
#define SO_OOBINLINE 10
#define SO_LINGER 13
#define SO_REUSEPORT 15
#define SO_RCVLOWAT 18
#define SO_SNDLOWAT 19
#define SO_RCVTIMEO 20
#define SO_SNDTIMEO 21
#define SO_ACCEPTCONN 30
#define SO_PROTOCOL 38
#define SO_DOMAIN 39

/* MSG_TRUNC in wasi-libc names a constant it never defines. */
#undef MSG_TRUNC
#define MSG_DONTROUTE 0x0004
#define MSG_CTRUNC 0x0008
#define MSG_TRUNC 0x0020
#define MSG_DONTWAIT 0x0040
#define MSG_EOR 0x0080
#define MSG_NOSIGNAL 0x4000
#define MSG_MORE 0x8000
#define MSG_OOB 0x10000000

#ifdef __cplusplus
}
#endif

#endif
