/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "error.h"

/* Exit codes: 0 success, 1 the operation failed, 2 the command line was wrong. */
#define EXIT_USAGE 2

int cmd_initdata(int argc, char **argv);
int cmd_measure(int argc, char **argv);
int cmd_domain_xml(int argc, char **argv);
int cmd_check(int argc, char **argv);

/* Print "cococtl: <message>" for a failed operation and return 1. */
int fail_with(const struct coco_error *err, int r);
/* Print "cococtl: <message>" for a wrong command line and return EXIT_USAGE. */
int usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void print_hex(FILE *f, const uint8_t *p, size_t n);
/* Read a whole file ("-" for stdin), NUL-terminated, at most limit bytes. */
int read_all(const char *path, size_t limit, char **ret, size_t *ret_len, struct coco_error **err);
