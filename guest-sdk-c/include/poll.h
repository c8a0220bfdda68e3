/* poll.h for wasock: wasi-libc's header, plus the event bits it leaves
 * out, which Linux programs ask for (`POLLIN | POLLPRI`, `POLLRDHUP`).
 * wasi-libc numbers its bits its own way (POLLRDNORM 0x1, POLLWRNORM
 * 0x2, POLLERR 0x1000, POLLHUP 0x2000, POLLNVAL 0x4000); these take free
 * ones, so a program's own `#define POLLRDHUP 0x2000` fallback (Linux's
 * value, wasi-libc's POLLHUP) is never needed. */
#ifndef WASOCK_POLL_H
#define WASOCK_POLL_H

#include_next <poll.h>

/* Urgent (out-of-band) data: wasock has none, so never reported. */
#ifndef POLLPRI
#define POLLPRI 0x4
#endif
/* Priority bands: never reported. */
#ifndef POLLRDBAND
#define POLLRDBAND 0x8
#endif
#ifndef POLLWRBAND
#define POLLWRBAND 0x10
#endif
#ifndef POLLMSG
#define POLLMSG 0x20
#endif
/* A stream's peer ended its sending (Linux): reported, when asked for,
 * with the end to read, and on a connection closed both ways. */
#ifndef POLLRDHUP
#define POLLRDHUP 0x40
#endif

#endif
