/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Logging in containerd's (logrus) text format:
 *   time="2026-11-22T12:00:00.123456789Z" level=info msg="..."
 * One write() per line, so lines from threads never interleave. The sink is
 * process-wide (the one documented exception to "no mutable globals"): it is
 * set once by main from its command line, and library code only logs at debug.
 */
#pragma once

#include <stdarg.h>
#include <stdbool.h>

#include "macro.h"

enum log_level { LOG_ERROR = 0, LOG_WARN, LOG_INFO, LOG_DEBUG };

/* Open path (a file or the bundle's `log` fifo) for appending; replaces the current sink. */
int log_open(const char *path);
/* Log to fd (not owned; stderr by default). */
void log_set_fd(int fd);
void log_set_level(enum log_level level);
bool log_enabled(enum log_level level);
void log_msg(enum log_level level, const char *fmt, ...) _printf_(2, 3);

/* Quote s for a log line or message: "..." with \" \\ and \xNN escapes. Caller frees. */
char *log_quote(const char *s);

#define log_debug(...) log_msg(LOG_DEBUG, __VA_ARGS__)
#define log_info(...)  log_msg(LOG_INFO, __VA_ARGS__)
#define log_warn(...)  log_msg(LOG_WARN, __VA_ARGS__)
#define log_error(...) log_msg(LOG_ERROR, __VA_ARGS__)
