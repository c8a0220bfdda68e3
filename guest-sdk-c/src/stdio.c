/* wasi-libc's stdio asks whether a stream is a terminal the first time it
 * writes to it (to choose line buffering), and the question sets errno to
 * ENOTTY when the stream is a file or a pipe: the errno of a failed socket
 * call was gone after the program's first printf about it (glibc keeps
 * it). wasock-cc links with `--wrap=__isatty`, so stdio's question keeps
 * errno as it was; a program's own isatty() still sets it, as POSIX says. */
#include <errno.h>

int __real___isatty(int fd);
int __wrap___isatty(int fd);

int __wrap___isatty(int fd) {
    int saved = errno;
    int r = __real___isatty(fd);
    errno = saved;
    return r;
}
