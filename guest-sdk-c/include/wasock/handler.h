/* Connection handlers in C for `wasock serve`: the server owns the
 * listener and hands each accepted connection to a fresh instance, which
 * serves it in `wasock_handle`. Build with `wasock-cc --handler`: the
 * component then exports `wasock:sockets/handler` instead of a `main`.
 *
 *     #include <wasock/handler.h>
 *     #include <unistd.h>
 *
 *     int wasock_handle(int fd, const struct sockaddr *peer, socklen_t len) {
 *         char buf[4096];
 *         ssize_t n;
 *         while ((n = read(fd, buf, sizeof buf)) > 0) {
 *             if (write(fd, buf, (size_t)n) < 0) {
 *                 return -1;
 *             }
 *         }
 *         return n < 0 ? -1 : 0;
 *     }
 */
#ifndef WASOCK_HANDLER_H
#define WASOCK_HANDLER_H

#include <stdbool.h>
#include <sys/socket.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The program defines this: serve the connected stream socket `fd`
 * (blocking, as accept() returns it) from `peer` (`peer_len` bytes).
 * Return 0 once served, or -1 with errno set. ECONNRESET, ECONNABORTED
 * and ENOTCONN say the client left: the server counts that apart from
 * failures and logs nothing. Any other errno counts the connection as
 * failed, and the library writes a line with the peer and strerror(errno)
 * to stderr. The library closes `fd` afterwards if the handler has not. */
int wasock_handle(int fd, const struct sockaddr *peer, socklen_t peer_len);

/* Whether the server has begun to drain (it was told to stop): a handler
 * that keeps its connection open between requests should answer the one
 * in hand and return, rather than wait for the next until the drain
 * timeout stops it. Ask between requests, and wait for the next with
 * poll() rather than in a blocking read: the host ends one poll() that
 * waits when draining begins (with nothing ready), and a blocking read it
 * does not interrupt. */
bool wasock_draining(void);

#ifdef __cplusplus
}
#endif

#endif
