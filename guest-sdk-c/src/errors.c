/* One error mapping for the C boundary: each wasock error-code to its
 * POSIX errno, its Winsock code and its getaddrinfo code, as the WIT
 * documents each case (wit/types.wit, `error-code`). */
#include <netdb.h>

#include "internal.h"
#include "wasock/wasock.h"
#include "wasock/wsa_errors.h"

struct wsk_error_row {
    const char *name;
    int err;      /* errno for most calls */
    int transfer; /* errno for send/recv/accept */
    int wsa;
    int eai;
};

static const struct wsk_error_row ROWS[WASOCK_ERROR_CODES] = {
    {"access-denied", EACCES, EACCES, WSAEACCES, EAI_SYSTEM},
    {"address-in-use", EADDRINUSE, EADDRINUSE, WSAEADDRINUSE, EAI_SYSTEM},
    {"address-not-available", EADDRNOTAVAIL, EADDRNOTAVAIL, WSAEADDRNOTAVAIL, EAI_SYSTEM},
    {"address-family-not-supported", EAFNOSUPPORT, EAFNOSUPPORT, WSAEAFNOSUPPORT, EAI_FAMILY},
    {"already", EALREADY, EALREADY, WSAEALREADY, EAI_SYSTEM},
    {"already-connected", EISCONN, EISCONN, WSAEISCONN, EAI_SYSTEM},
    {"connection-aborted", ECONNABORTED, ECONNABORTED, WSAECONNABORTED, EAI_SYSTEM},
    {"connection-refused", ECONNREFUSED, ECONNREFUSED, WSAECONNREFUSED, EAI_SYSTEM},
    {"connection-reset", ECONNRESET, ECONNRESET, WSAECONNRESET, EAI_SYSTEM},
    {"destination-address-required", EDESTADDRREQ, EDESTADDRREQ, WSAEDESTADDRREQ, EAI_SYSTEM},
    {"host-unreachable", EHOSTUNREACH, EHOSTUNREACH, WSAEHOSTUNREACH, EAI_SYSTEM},
    {"in-progress", EINPROGRESS, EINPROGRESS, WSAEINPROGRESS, EAI_SYSTEM},
    {"invalid-argument", EINVAL, EINVAL, WSAEINVAL, EAI_NONAME},
    {"message-size", EMSGSIZE, EMSGSIZE, WSAEMSGSIZE, EAI_SYSTEM},
    {"network-down", ENETDOWN, ENETDOWN, WSAENETDOWN, EAI_SYSTEM},
    {"network-unreachable", ENETUNREACH, ENETUNREACH, WSAENETUNREACH, EAI_SYSTEM},
    {"no-buffer-space", ENOBUFS, ENOBUFS, WSAENOBUFS, EAI_MEMORY},
    {"not-connected", ENOTCONN, ENOTCONN, WSAENOTCONN, EAI_SYSTEM},
    {"not-supported", EOPNOTSUPP, EOPNOTSUPP, WSAEOPNOTSUPP, EAI_SYSTEM},
    {"protocol-option-not-supported", ENOPROTOOPT, ENOPROTOOPT, WSAENOPROTOOPT, EAI_SYSTEM},
    {"shut-down", EPIPE, EPIPE, WSAESHUTDOWN, EAI_SYSTEM},
    {"timed-out", ETIMEDOUT, EAGAIN, WSAETIMEDOUT, EAI_AGAIN},
    {"would-block", EWOULDBLOCK, EWOULDBLOCK, WSAEWOULDBLOCK, EAI_AGAIN},
    {"new-socket-limit", EMFILE, EMFILE, WSAEMFILE, EAI_SYSTEM},
    {"name-not-found", ENOENT, ENOENT, WSAHOST_NOT_FOUND, EAI_NONAME},
    {"temporary-resolver-failure", EAGAIN, EAGAIN, WSATRY_AGAIN, EAI_AGAIN},
    {"permanent-resolver-failure", EIO, EIO, WSANO_RECOVERY, EAI_FAIL},
    {"unknown", EIO, EIO, WSASYSCALLFAILURE, EAI_SYSTEM},
};

static const struct wsk_error_row *row(int code) {
    if (code < 0 || code >= WASOCK_ERROR_CODES) {
        return &ROWS[WASOCK_SOCKETS_TYPES_ERROR_CODE_UNKNOWN];
    }
    return &ROWS[code];
}

const char *wasock_error_name(int code) {
    return code < 0 || code >= WASOCK_ERROR_CODES ? NULL : ROWS[code].name;
}
int wasock_error_errno(int code) { return row(code)->err; }
int wasock_error_errno_transfer(int code) { return row(code)->transfer; }
int wasock_error_eai(int code) { return row(code)->eai; }
int wasock_error_wsa(int code) { return row(code)->wsa; }

int wsk_errno_of(wsk_code code, enum wsk_op op) {
    return op == WSK_OP_TRANSFER ? row(code)->transfer : row(code)->err;
}

bool wsk_code_of_errno(int err, wsk_code *code) {
    for (int c = 0; c < WASOCK_ERROR_CODES; c++) {
        if (ROWS[c].err == err) {
            *code = (wsk_code)c;
            return true;
        }
    }
    return false;
}

int wsk_wsa_of_errno(int err) {
    wsk_code code;
    return wsk_code_of_errno(err, &code) ? ROWS[code].wsa : WSASYSCALLFAILURE;
}

int wsk_wsa_of(wsk_code code, enum wsk_op op) {
    /* Winsock reports a non-blocking connect under way as WSAEWOULDBLOCK. */
    if (op == WSK_OP_CONNECT && code == WASOCK_SOCKETS_TYPES_ERROR_CODE_IN_PROGRESS) {
        return WSAEWOULDBLOCK;
    }
    return row(code)->wsa;
}

int wsk_fail(wsk_code code, enum wsk_op op) {
    int err = wsk_errno_of(code, op);
    wsk_note_code(code, op, err);
    errno = err;
    return -1;
}

int wsk_errno(int err) {
    errno = err;
    return -1;
}
