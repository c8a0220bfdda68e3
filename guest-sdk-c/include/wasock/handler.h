/* Connection handlers in C for `wasock serve`: the server owns the
 * listener and hands each accepted connection to a fresh instance, which
 * serves it in `wasock_handle`. Build with `wasock-cc --handler`: the
 * component then exports `wasock:sockets/handler` instead of a `main`.
 *
 *     #include <wasock/handler.h>
 *     #include <unistd.h>
 *
 *     int wasock_handle(int fd, const struct sockaddr *peer, socklen_t peer_len) {
 *         (void)peer;
 *         (void)peer_len;
 *         char buf[4096];
 *         ssize_t n;
 *         while ((n = read(fd, buf, sizeof buf)) > 0) {
 *             for (ssize_t done = 0, w; done < n; done += w) {
 *                 if ((w = write(fd, buf + done, (size_t)(n - done))) < 0) {
 *                     return -1;
 *                 }
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
 * Return 0 once served, or -1 with errno set.
 *
 * ECONNRESET, ECONNABORTED and ENOTCONN say the client left: the server
 * counts that apart from failures and logs it only at debug level. It
 * cannot tell which socket the errno came from: a handler whose other
 * sockets fail (a backend it connects to) answers its client, or returns
 * another errno. Any other errno counts the connection as failed, and the
 * library writes `connection handler for ADDR:PORT: STRERROR` (IPv6:
 * `[ADDR]:PORT`) to stderr. EAGAIN (a timeout) is reported as
 * `timed-out`.
 *
 * The instance ends when this returns, without exit(): what the handler
 * left open is closed with it (`fd` included), buffered stdio is flushed,
 * and atexit functions and destructors do not run. */
int wasock_handle(int fd, const struct sockaddr *peer, socklen_t peer_len);

/* Whether the server has begun to drain (it was told to stop): a handler
 * that keeps its connection open between requests should answer the one
 * in hand and return, rather than wait for the next until the drain
 * timeout stops it. Ask between requests, and wait for the next with
 * poll() rather than in a blocking read: the host ends one poll() that
 * waits when draining begins (it returns 0, nothing ready), and a
 * blocking read it does not interrupt. */
bool wasock_draining(void);

#ifdef __cplusplus
}
#endif

#endif
