/* wasock's own additions for C programs: how the library maps the
 * interface's error codes, for programs and tests that want to see it.
 * Programs written against BSD sockets or Winsock need none of this. */
#ifndef WASOCK_WASOCK_H
#define WASOCK_WASOCK_H

#ifdef __cplusplus
extern "C" {
#endif

/* The number of `error-code` cases in the interface (wit/types.wit). */
#define WASOCK_ERROR_CODES 28

/* The WIT name of error-code `code` ("access-denied"), or NULL if out
 * of range. */
const char *wasock_error_name(int code);
/* The errno a socket call sets for error-code `code`. */
int wasock_error_errno(int code);
/* The errno a send, receive or accept sets for `code` where POSIX
 * differs (a timeout is EAGAIN there). */
int wasock_error_errno_transfer(int code);
/* The Winsock error (`WSAE*`) for error-code `code`. */
int wasock_error_wsa(int code);
/* The `EAI_*` value getaddrinfo returns for error-code `code`. */
int wasock_error_eai(int code);

#ifdef __cplusplus
}
#endif

#endif
