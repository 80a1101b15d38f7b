/* SPDX-License-Identifier: Apache-2.0 */
/* Standard base64 (RFC 4648, with padding). */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "error.h"

/* Encode into a malloc'd NUL-terminated string. */
char *base64_encode(const void *data, size_t len);
/*
 * Decode strictly: the standard alphabet, '=' padding only at the end, no
 * whitespace except trailing newlines. -EINVAL with the offending position.
 */
int base64_decode(const char *s, size_t slen, uint8_t **ret_data, size_t *ret_len,
                  struct coco_error **err);
