/* SPDX-License-Identifier: Apache-2.0 */
/* Memory, I/O and time helpers. Allocation failure aborts: see docs/development.md. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "macro.h"

void *xmalloc(size_t n);
void *xcalloc(size_t n, size_t size);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
void *xmemdup(const void *p, size_t n);
char *xasprintf(const char *fmt, ...) _printf_(1, 2);

/* Read exactly n bytes. Returns 0, -EPIPE on end of file before n bytes, or -errno. */
int read_full(int fd, void *buf, size_t n);
/* Write all of iov; uses send(MSG_NOSIGNAL) on sockets so a closed peer gives -EPIPE. */
int write_all(int fd, bool is_socket, const void *a, size_t alen, const void *b, size_t blen);

bool fd_is_socket(int fd);

/* CLOCK_MONOTONIC and CLOCK_REALTIME in nanoseconds. */
uint64_t now_monotonic_ns(void);
uint64_t now_realtime_ns(void);

#define NSEC_PER_SEC  1000000000ULL
#define NSEC_PER_MSEC 1000000ULL
