/* SPDX-License-Identifier: Apache-2.0 */
#include <fcntl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "util.h"

static atomic_int log_fd = STDERR_FILENO;
static atomic_int log_owned = 0;
static atomic_int log_level = LOG_INFO;

int log_open(const char *path)
{
        /* O_NONBLOCK so opening a fifo without a reader fails instead of hanging */
        int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NONBLOCK, 0600);
        if (fd < 0)
                return -errno;
        int flags = fcntl(fd, F_GETFL);
        if (flags >= 0)
                (void)fcntl(fd, F_SETFL, flags & ~O_NONBLOCK);
        int old = atomic_exchange(&log_fd, fd);
        if (atomic_exchange(&log_owned, 1))
                safe_close(old);
        return 0;
}

void log_set_fd(int fd)
{
        int old = atomic_exchange(&log_fd, fd);
        if (atomic_exchange(&log_owned, 0))
                safe_close(old);
}

void log_set_level(enum log_level level)
{
        atomic_store(&log_level, level);
}

bool log_enabled(enum log_level level)
{
        return (int)level <= atomic_load(&log_level);
}

static void quote_into(FILE *f, const char *s)
{
        fputc('"', f);
        for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
                if (*p == '"' || *p == '\\')
                        fprintf(f, "\\%c", *p);
                else if (*p == '\n')
                        fputs("\\n", f);
                else if (*p == '\t')
                        fputs("\\t", f);
                else if (*p < 0x20 || *p == 0x7f)
                        fprintf(f, "\\x%02x", *p);
                else
                        fputc(*p, f);
        }
        fputc('"', f);
}

char *log_quote(const char *s)
{
        char *buf = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&buf, &len);
        if (!f)
                abort();
        quote_into(f, s ? s : "");
        fclose(f);
        return buf;
}

void log_msg(enum log_level level, const char *fmt, ...)
{
        static const char *const names[] = {"error", "warning", "info", "debug"};
        char *msg = NULL, *line = NULL;
        size_t len = 0;
        char ts[40];
        struct timespec now;
        struct tm tm;
        va_list ap;

        if (!log_enabled(level))
                return;
        int saved = errno;
        va_start(ap, fmt);
        if (vasprintf(&msg, fmt, ap) < 0)
                abort();
        va_end(ap);

        clock_gettime(CLOCK_REALTIME, &now);
        gmtime_r(&now.tv_sec, &tm);
        strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%S", &tm);

        FILE *f = open_memstream(&line, &len);
        if (!f)
                abort();
        fprintf(f, "time=\"%s.%09ldZ\" level=%s msg=", ts, now.tv_nsec, names[level]);
        quote_into(f, msg);
        fputc('\n', f);
        fclose(f);
        (void)write_all(atomic_load(&log_fd), false, line, len, NULL, 0);
        free(line);
        free(msg);
        errno = saved;
}
