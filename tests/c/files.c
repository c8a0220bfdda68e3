/* Sockets and files share one descriptor space: a file opened while
 * sockets are open never gets a socket's number, and each call reaches
 * what its descriptor names. Run with a directory preopened as "/data". */
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static int check(const char *what, int ok) {
    printf("%s: %s\n", what, ok ? "yes" : "NO");
    return ok ? 0 : 1;
}

int main(void) {
    int bad = 0;
    int s = socket(AF_INET, SOCK_DGRAM, 0);
    int f = open("/data/note.txt", O_CREAT | O_EXCL | O_WRONLY, 0644);
    bad |= check("socket and file opened", s >= 0 && f >= 0);
    bad |= check("numbers distinct", s != f);
    bad |= check("file written", write(f, "file data", 9) == 9);
    bad |= check("file closed", close(f) == 0);

    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr = {htonl(INADDR_LOOPBACK)}};
    bad |= check("socket binds", bind(s, (struct sockaddr *)&a, sizeof a) == 0);
    socklen_t len = sizeof a;
    bad |= check("socket named", getsockname(s, (struct sockaddr *)&a, &len) == 0 && a.sin_port != 0);
    bad |= check("socket sends to itself", sendto(s, "ping", 4, 0, (struct sockaddr *)&a, len) == 4);
    char buf[16] = {0};
    bad |= check("socket receives", read(s, buf, sizeof buf) == 4 && memcmp(buf, "ping", 4) == 0);

    int r = open("/data/note.txt", O_RDONLY);
    memset(buf, 0, sizeof buf);
    bad |= check("file reads back", r >= 0 && r != s && read(r, buf, sizeof buf) == 9 &&
                                        strcmp(buf, "file data") == 0);
    bad |= check("socket closed", close(s) == 0);
    bad |= check("file closed again", close(r) == 0);
    bad |= check("closed socket is EBADF", close(s) == -1);
    return bad;
}
