/* winsock2.h for wasock: Windows Sockets 2 for sources written for
 * Windows. The socket calls are the BSD ones the wasock C library
 * implements (Winsock's are the same calls); this header adds Winsock's
 * names and types, its own `fd_set` and `select` (a list of sockets,
 * `nfds` ignored), `WSAPoll`, `ioctlsocket`, `closesocket` and the
 * `WSA*` error functions, and gives connect, shutdown, setsockopt and
 * getsockopt their Winsock meaning where it differs (see below).
 * Address families, option names and flags keep their names; their
 * values are the library's (shutdown's SD_* excepted), so compile
 * Winsock sources with this header rather than mixing in Windows'
 * numbers. */
#ifndef _WINSOCK2API_
#define _WINSOCK2API_
#define _WINSOCKAPI_

/* wasi-libc's <sys/select.h>, which <sys/types.h> pulls in, defines
 * POSIX's fd_set, FD_* and select; one source cannot have those and
 * Winsock's below, so it is kept out. */
#ifdef _SYS_SELECT_H
#error "include <winsock2.h> before <sys/types.h>, <sys/time.h> and <sys/select.h>: Winsock's fd_set and select differ from POSIX's"
#endif
#define _SYS_SELECT_H

/* Windows sources carry MSVC's pragmas (`comment(lib, "Ws2_32.lib")`,
 * `warning(disable: ...)`), which mean nothing here: from this header
 * on, clang ignores them without a warning. */
#pragma clang diagnostic ignored "-Wunknown-pragmas"
/* Windows code passes an `int *` where BSD has `socklen_t *` (accept,
 * getsockname, getsockopt, recvfrom); socklen_t is unsigned here, the
 * same size, so that is no error: do not warn of the sign. */
#pragma clang diagnostic ignored "-Wpointer-sign"

#include <stdint.h>
#include <__struct_timeval.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include "wasock/wsa_errors.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef unsigned char BYTE;
typedef unsigned short WORD;
typedef unsigned int DWORD;
typedef int BOOL;
typedef int INT;
typedef short SHORT;
typedef unsigned long ULONG;
typedef char CHAR;
typedef unsigned char u_char;
typedef unsigned short u_short;
typedef unsigned int u_int;
typedef unsigned long u_long;
typedef uintptr_t UINT_PTR;

/* A socket handle; INVALID_SOCKET is ~0 as on Windows. */
typedef UINT_PTR SOCKET;
#define INVALID_SOCKET ((SOCKET)(~0))
#define SOCKET_ERROR (-1)

#define MAKEWORD(lo, hi) ((WORD)(((BYTE)(lo)) | ((WORD)((BYTE)(hi))) << 8))
#define LOBYTE(w) ((BYTE)((w) & 0xff))
#define HIBYTE(w) ((BYTE)(((w) >> 8) & 0xff))

typedef struct sockaddr SOCKADDR, *PSOCKADDR, *LPSOCKADDR;
typedef struct sockaddr_in SOCKADDR_IN, *PSOCKADDR_IN, *LPSOCKADDR_IN;
typedef struct sockaddr_storage SOCKADDR_STORAGE, *PSOCKADDR_STORAGE;
typedef struct in_addr IN_ADDR, *PIN_ADDR;
typedef struct linger LINGER;
typedef struct timeval TIMEVAL;

/* shutdown's `how`, Windows' numbers; SHUT_* (wasi-libc: 1, 2, 3) take
 * the same ones here, since shutdown below reads Windows' numbering. */
#define SD_RECEIVE 0x00
#define SD_SEND 0x01
#define SD_BOTH 0x02
#undef SHUT_RD
#undef SHUT_WR
#undef SHUT_RDWR
#define SHUT_RD SD_RECEIVE
#define SHUT_WR SD_SEND
#define SHUT_RDWR SD_BOTH

/* Calls whose Winsock meaning differs from POSIX's go, for a source that
 * includes this header, to Winsock variants (as select does below);
 * POSIX sources keep the POSIX calls:
 *  - setsockopt/getsockopt: SO_RCVTIMEO and SO_SNDTIMEO are a DWORD of
 *    milliseconds (0: no timeout), not a struct timeval; SO_ERROR reads
 *    a Windows Sockets code (WSAECONNREFUSED);
 *  - shutdown: `how` is SD_RECEIVE, SD_SEND or SD_BOTH (0, 1, 2);
 *  - connect: a non-blocking connect under way is noted, so that select
 *    reports its failure in exceptfds, as Windows does. */
int setsockopt(int fd, int level, int name, const void *val, socklen_t len)
    __asm__("__wasock_wsa_setsockopt");
int getsockopt(int fd, int level, int name, void *__restrict val, socklen_t *__restrict len)
    __asm__("__wasock_wsa_getsockopt");
int shutdown(int fd, int how) __asm__("__wasock_wsa_shutdown");
int connect(int fd, const struct sockaddr *addr, socklen_t len) __asm__("__wasock_wsa_connect");

#define WSADESCRIPTION_LEN 256
#define WSASYS_STATUS_LEN 128
typedef struct WSAData {
    WORD wVersion;
    WORD wHighVersion;
    char szDescription[WSADESCRIPTION_LEN + 1];
    char szSystemStatus[WSASYS_STATUS_LEN + 1];
    unsigned short iMaxSockets;
    unsigned short iMaxUdpDg;
    char *lpVendorInfo;
} WSADATA, *LPWSADATA;

int WSAStartup(WORD version, LPWSADATA data);
int WSACleanup(void);
int WSAGetLastError(void);
void WSASetLastError(int err);
int closesocket(SOCKET s);

/* ioctlsocket commands, with Windows' values. */
#define FIONBIO ((long)0x8004667EUL)
#define FIONREAD ((long)0x4004667FUL)
int ioctlsocket(SOCKET s, long cmd, u_long *argp);

/* Winsock's fd_set: a count and a list of sockets. */
#ifndef FD_SETSIZE
#define FD_SETSIZE 64
#endif
typedef struct fd_set {
    u_int fd_count;
    SOCKET fd_array[FD_SETSIZE];
} fd_set;
int __WSAFDIsSet(SOCKET s, fd_set *set);
#define FD_ISSET(s, set) __WSAFDIsSet((SOCKET)(s), (fd_set *)(set))
#define FD_ZERO(set) (((fd_set *)(set))->fd_count = 0)
#define FD_CLR(s, set)                                                                     \
    do {                                                                                   \
        u_int __i;                                                                         \
        for (__i = 0; __i < ((fd_set *)(set))->fd_count; __i++) {                          \
            if (((fd_set *)(set))->fd_array[__i] == (SOCKET)(s)) {                         \
                ((fd_set *)(set))->fd_array[__i] =                                         \
                    ((fd_set *)(set))->fd_array[--((fd_set *)(set))->fd_count];            \
                break;                                                                     \
            }                                                                              \
        }                                                                                  \
    } while (0)
#define FD_SET(s, set)                                                                     \
    do {                                                                                   \
        u_int __i;                                                                         \
        for (__i = 0; __i < ((fd_set *)(set))->fd_count; __i++) {                          \
            if (((fd_set *)(set))->fd_array[__i] == (SOCKET)(s)) {                         \
                break;                                                                     \
            }                                                                              \
        }                                                                                  \
        if (__i == ((fd_set *)(set))->fd_count && __i < FD_SETSIZE) {                     \
            ((fd_set *)(set))->fd_array[__i] = (SOCKET)(s);                                \
            ((fd_set *)(set))->fd_count++;                                                 \
        }                                                                                  \
    } while (0)
/* Winsock's select: `nfds` is ignored; the sets list the sockets. */
int select(int nfds, fd_set *readfds, fd_set *writefds, fd_set *exceptfds,
           const struct timeval *timeout) __asm__("__wasock_wsa_select");

/* WSAPoll, with Windows' flag values. */
#define POLLRDNORM 0x0100
#define POLLRDBAND 0x0200
#define POLLIN (POLLRDNORM | POLLRDBAND)
#define POLLPRI 0x0400
#define POLLWRNORM 0x0010
#define POLLOUT (POLLWRNORM)
#define POLLWRBAND 0x0020
#define POLLERR 0x0001
#define POLLHUP 0x0002
#define POLLNVAL 0x0004
typedef struct pollfd {
    SOCKET fd;
    SHORT events;
    SHORT revents;
} WSAPOLLFD, *PWSAPOLLFD, *LPWSAPOLLFD;
int WSAPoll(LPWSAPOLLFD fds, ULONG n, INT timeout);

#ifdef __cplusplus
}
#endif

#endif
