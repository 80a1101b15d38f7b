/* SPDX-License-Identifier: Apache-2.0 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <time.h>

#include <protobuf-c/protobuf-c.h>

#include "util.h"

_noreturn_ static void oom(void)
{
        static const char msg[] = "coco: out of memory, aborting\n";
        (void)!write(STDERR_FILENO, msg, sizeof(msg) - 1);
        abort();
}

void *xmalloc(size_t n)
{
        void *p = malloc(n ? n : 1);
        if (!p)
                oom();
        return p;
}

void *xcalloc(size_t n, size_t size)
{
        void *p = calloc(n ? n : 1, size ? size : 1);
        if (!p)
                oom();
        return p;
}

void *xrealloc(void *p, size_t n)
{
        void *q = realloc(p, n ? n : 1);
        if (!q)
                oom();
        return q;
}

char *xstrdup(const char *s)
{
        return xmemdup(s, strlen(s) + 1);
}

void *xmemdup(const void *p, size_t n)
{
        void *q = xmalloc(n);
        if (n)
                memcpy(q, p, n);
        return q;
}

char *xasprintf(const char *fmt, ...)
{
        va_list ap;
        char *s;

        va_start(ap, fmt);
        int r = vasprintf(&s, fmt, ap);
        va_end(ap);
        if (r < 0)
                oom();
        return s;
}

void pb_message_freep(void *p)
{
        ProtobufCMessage **m = p;
        if (*m)
                protobuf_c_message_free_unpacked(*m, NULL);
}

int read_full(int fd, void *buf, size_t n)
{
        uint8_t *b = buf;

        while (n > 0) {
                ssize_t k = read(fd, b, n);
                if (k < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                if (k == 0)
                        return -EPIPE;
                b += k;
                n -= (size_t)k;
        }
        return 0;
}

int write_all(int fd, bool is_socket, const void *a, size_t alen, const void *b, size_t blen)
{
        struct iovec iov[2] = {{(void *)a, alen}, {(void *)b, blen}};
        struct iovec *v = iov;
        int cnt = 2;

        while (cnt > 0) {
                ssize_t k;
                if (v->iov_len == 0) {
                        v++, cnt--;
                        continue;
                }
                if (is_socket) {
                        struct msghdr mh = {.msg_iov = v, .msg_iovlen = (size_t)cnt};
                        k = sendmsg(fd, &mh, MSG_NOSIGNAL);
                } else
                        k = writev(fd, v, cnt);
                if (k < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                while (k > 0 && cnt > 0) {
                        size_t step = (size_t)k < v->iov_len ? (size_t)k : v->iov_len;
                        v->iov_base = (uint8_t *)v->iov_base + step;
                        v->iov_len -= step;
                        k -= (ssize_t)step;
                        if (v->iov_len == 0)
                                v++, cnt--;
                }
        }
        return 0;
}

bool fd_is_socket(int fd)
{
        struct stat st;
        return fstat(fd, &st) == 0 && S_ISSOCK(st.st_mode);
}

static uint64_t now_ns(clockid_t c)
{
        struct timespec ts;
        clock_gettime(c, &ts);
        return (uint64_t)ts.tv_sec * NSEC_PER_SEC + (uint64_t)ts.tv_nsec;
}

uint64_t now_monotonic_ns(void)
{
        return now_ns(CLOCK_MONOTONIC);
}

uint64_t now_realtime_ns(void)
{
        return now_ns(CLOCK_REALTIME);
}
