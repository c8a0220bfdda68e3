/* The descriptor table: socket descriptors share one number space with
 * libc's (files, stdio), so `close`, `read`, `write`, `readv`, `writev`,
 * `fcntl` and `ioctl` on a socket reach the socket and every other
 * descriptor still reaches libc. wasock-cc links with
 * `--wrap=close,...`: each `__wrap_X` here sees the call first and hands
 * non-sockets to `__real_X`. */
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/uio.h>
#include <unistd.h>
#include <wasi/api.h>

#include "internal.h"

int __real_close(int fd);
int __wrap_close(int fd);
ssize_t __real_read(int fd, void *buf, size_t len);
ssize_t __real_write(int fd, const void *buf, size_t len);
ssize_t __real_readv(int fd, const struct iovec *iov, int n);
ssize_t __real_writev(int fd, const struct iovec *iov, int n);
int __real_fcntl(int fd, int cmd, ...);
int __real_ioctl(int fd, int req, ...);
__wasi_errno_t __real___wasi_path_open(__wasi_fd_t, __wasi_lookupflags_t, const char *,
                                       __wasi_oflags_t, __wasi_rights_t, __wasi_rights_t,
                                       __wasi_fdflags_t, __wasi_fd_t *);

/* Sockets by descriptor number; NULL where no socket is. */
static struct wsk_socket **table;
static int table_len;
/* More sockets than this at once is EMFILE before the host is asked. */
#define WSK_MAX_FD 65536

struct wsk_socket *wsk_lookup(int fd) {
    if (fd < 0 || fd >= table_len) {
        return NULL;
    }
    return table[fd];
}

static bool libc_has(int fd) {
    __wasi_fdstat_t st;
    return __wasi_fd_fdstat_get((__wasi_fd_t)fd, &st) != __WASI_ERRNO_BADF;
}

struct wsk_socket *wsk_get(int fd) {
    struct wsk_socket *s = wsk_lookup(fd);
    if (s == NULL) {
        errno = fd >= 0 && libc_has(fd) ? ENOTSOCK : EBADF;
    }
    return s;
}

static int grow(int want) {
    if (want <= table_len) {
        return 0;
    }
    int len = table_len ? table_len : 16;
    while (len < want) {
        len *= 2;
    }
    struct wsk_socket **t = realloc(table, (size_t)len * sizeof *t);
    if (t == NULL) {
        return -1;
    }
    memset(t + table_len, 0, (size_t)(len - table_len) * sizeof *t);
    table = t;
    table_len = len;
    return 0;
}

int wsk_install(wsk_own handle, int family, int type, int flags) {
    struct wsk_socket *s = calloc(1, sizeof *s);
    int fd = 3;
    while (fd < WSK_MAX_FD && (wsk_lookup(fd) != NULL || libc_has(fd))) {
        fd++;
    }
    if (s == NULL || fd == WSK_MAX_FD || grow(fd + 1) != 0) {
        free(s);
        wasock_sockets_socket_socket_drop_own(handle);
        return wsk_errno(s == NULL ? ENOMEM : EMFILE);
    }
    s->handle = handle;
    s->family = family;
    s->type = type;
    s->shadow = -1;
    s->cloexec = (flags & SOCK_CLOEXEC) != 0;
    table[fd] = s;
    if ((flags & SOCK_NONBLOCK) != 0) {
        if (wsk_set_nonblocking(s, true) != 0) {
            int err = errno;
            __wrap_close(fd);
            return wsk_errno(err);
        }
        s->nonblocking = true;
    }
    return fd;
}

int wsk_set_nonblocking(struct wsk_socket *s, bool on) {
    wsk_code code;
    if (!wasock_sockets_socket_method_socket_set_nonblocking(wsk_b(s), on, &code)) {
        return wsk_fail(code, WSK_OP_OTHER);
    }
    return 0;
}

int __wrap_close(int fd) {
    struct wsk_socket *s = wsk_lookup(fd);
    if (s == NULL) {
        return __real_close(fd);
    }
    table[fd] = NULL;
    wasock_sockets_socket_socket_drop_own(s->handle);
    if (s->shadow >= 0) {
        __real_close(s->shadow);
    }
    free(s);
    return 0;
}

ssize_t __wrap_read(int fd, void *buf, size_t len) {
    if (wsk_lookup(fd) == NULL) {
        return __real_read(fd, buf, len);
    }
    return recv(fd, buf, len, 0);
}

ssize_t __wrap_write(int fd, const void *buf, size_t len) {
    if (wsk_lookup(fd) == NULL) {
        return __real_write(fd, buf, len);
    }
    return send(fd, buf, len, 0);
}

/* Total length of an iovec array, or -1 with errno: EINVAL for a count
 * out of range or a total past SSIZE_MAX, EFAULT for a missing array. */
ssize_t wsk_iov_total(const struct iovec *iov, int n) {
    if (n < 0 || n > IOV_MAX || (n > 0 && iov == NULL)) {
        return wsk_errno(n > 0 && iov == NULL ? EFAULT : EINVAL);
    }
    size_t total = 0;
    for (int i = 0; i < n; i++) {
        if (iov[i].iov_len > SSIZE_MAX - total) {
            return wsk_errno(EINVAL);
        }
        total += iov[i].iov_len;
    }
    return (ssize_t)total;
}

ssize_t wsk_readv(int fd, const struct iovec *iov, int n, int flags) {
    ssize_t total = wsk_iov_total(iov, n);
    if (total < 0) {
        return -1;
    }
    if (n == 1) {
        return recv(fd, iov[0].iov_base, iov[0].iov_len, flags);
    }
    char *tmp = malloc(total ? (size_t)total : 1);
    if (tmp == NULL) {
        return wsk_errno(ENOMEM);
    }
    ssize_t got = recv(fd, tmp, (size_t)total, flags);
    for (ssize_t off = 0, i = 0; got > 0 && off < got; i++) {
        size_t take = iov[i].iov_len < (size_t)(got - off) ? iov[i].iov_len : (size_t)(got - off);
        memcpy(iov[i].iov_base, tmp + off, take);
        off += (ssize_t)take;
    }
    free(tmp);
    return got;
}

ssize_t wsk_writev(int fd, const struct iovec *iov, int n, int flags) {
    ssize_t total = wsk_iov_total(iov, n);
    if (total < 0) {
        return -1;
    }
    if (n == 1) {
        return send(fd, iov[0].iov_base, iov[0].iov_len, flags);
    }
    char *tmp = malloc(total ? (size_t)total : 1);
    if (tmp == NULL) {
        return wsk_errno(ENOMEM);
    }
    for (ssize_t off = 0, i = 0; i < n; i++) {
        memcpy(tmp + off, iov[i].iov_base, iov[i].iov_len);
        off += (ssize_t)iov[i].iov_len;
    }
    ssize_t sent = send(fd, tmp, (size_t)total, flags);
    free(tmp);
    return sent;
}

ssize_t __wrap_readv(int fd, const struct iovec *iov, int n) {
    if (wsk_lookup(fd) == NULL) {
        return __real_readv(fd, iov, n);
    }
    return wsk_readv(fd, iov, n, 0);
}

ssize_t __wrap_writev(int fd, const struct iovec *iov, int n) {
    if (wsk_lookup(fd) == NULL) {
        return __real_writev(fd, iov, n);
    }
    return wsk_writev(fd, iov, n, 0);
}

int __wrap_fcntl(int fd, int cmd, ...) {
    int arg = 0;
    if (cmd == F_SETFL || cmd == F_SETFD) {
        va_list ap;
        va_start(ap, cmd);
        arg = va_arg(ap, int);
        va_end(ap);
    }
    struct wsk_socket *s = wsk_lookup(fd);
    if (s == NULL) {
        return __real_fcntl(fd, cmd, arg);
    }
    switch (cmd) {
    case F_GETFL:
        return O_RDWR | (s->nonblocking ? O_NONBLOCK : 0);
    case F_SETFL: {
        bool on = (arg & O_NONBLOCK) != 0;
        if (on != s->nonblocking) {
            if (wsk_set_nonblocking(s, on) != 0) {
                return -1;
            }
            s->nonblocking = on;
        }
        return 0;
    }
    case F_GETFD:
        return s->cloexec ? FD_CLOEXEC : 0;
    case F_SETFD:
        s->cloexec = (arg & FD_CLOEXEC) != 0;
        return 0;
    default:
        return wsk_errno(EINVAL);
    }
}

int __wrap_ioctl(int fd, int req, ...) {
    va_list ap;
    va_start(ap, req);
    int *arg = va_arg(ap, int *);
    va_end(ap);
    struct wsk_socket *s = wsk_lookup(fd);
    if (s == NULL) {
        return __real_ioctl(fd, req, arg);
    }
    if (arg == NULL) {
        return wsk_errno(EFAULT);
    }
    switch (req) {
    case FIONBIO: {
        bool on = *arg != 0;
        if (wsk_set_nonblocking(s, on) != 0) {
            return -1;
        }
        s->nonblocking = on;
        return 0;
    }
    case FIONREAD: {
        uint64_t n;
        wsk_code code;
        if (!wasock_sockets_socket_method_socket_bytes_available(wsk_b(s), &n, &code)) {
            return wsk_fail(code, WSK_OP_OTHER);
        }
        *arg = n > INT32_MAX ? INT32_MAX : (int)n;
        return 0;
    }
    default:
        return wsk_errno(ENOTTY);
    }
}

/* Every file libc opens goes through here. Should the preview-1 layer
 * hand out a number a socket holds, keep that descriptor open beside
 * the socket (so the number is taken there too) and open again. */
__wasi_errno_t __wrap___wasi_path_open(__wasi_fd_t dir, __wasi_lookupflags_t dirflags,
                                       const char *path, __wasi_oflags_t oflags,
                                       __wasi_rights_t base, __wasi_rights_t inheriting,
                                       __wasi_fdflags_t fdflags, __wasi_fd_t *out) {
    for (;;) {
        __wasi_errno_t e = __real___wasi_path_open(dir, dirflags, path, oflags, base,
                                                   inheriting, fdflags, out);
        struct wsk_socket *s = e == 0 ? wsk_lookup((int)*out) : NULL;
        if (s == NULL || s->shadow >= 0) {
            return e;
        }
        s->shadow = (int)*out;
        /* The file exists now: the second open must neither fail on
         * O_EXCL nor truncate it again. */
        oflags &= (__wasi_oflags_t)~(__WASI_OFLAGS_EXCL | __WASI_OFLAGS_TRUNC);
    }
}
