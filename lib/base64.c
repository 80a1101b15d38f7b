/* SPDX-License-Identifier: Apache-2.0 */
#include <string.h>

#include "base64.h"
#include "util.h"

static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

char *base64_encode(const void *data, size_t len)
{
        const uint8_t *p = data;
        char *out = xmalloc((len + 2) / 3 * 4 + 1), *o = out;

        for (size_t i = 0; i < len; i += 3) {
                uint32_t v = (uint32_t)p[i] << 16;
                if (i + 1 < len)
                        v |= (uint32_t)p[i + 1] << 8;
                if (i + 2 < len)
                        v |= p[i + 2];
                *o++ = alphabet[v >> 18 & 63];
                *o++ = alphabet[v >> 12 & 63];
                *o++ = i + 1 < len ? alphabet[v >> 6 & 63] : '=';
                *o++ = i + 2 < len ? alphabet[v & 63] : '=';
        }
        *o = 0;
        return out;
}

static int value_of(char c)
{
        if (c >= 'A' && c <= 'Z')
                return c - 'A';
        if (c >= 'a' && c <= 'z')
                return c - 'a' + 26;
        if (c >= '0' && c <= '9')
                return c - '0' + 52;
        if (c == '+')
                return 62;
        if (c == '/')
                return 63;
        return -1;
}

int base64_decode(const char *s, size_t slen, uint8_t **ret_data, size_t *ret_len,
                  struct coco_error **err)
{
        while (slen > 0 && (s[slen - 1] == '\n' || s[slen - 1] == '\r'))
                slen--;
        if (slen % 4 != 0)
                return coco_error_set(err, EINVAL,
                                      "base64 text has %zu characters, not a multiple of 4", slen);

        _cleanup_free_ uint8_t *out = xmalloc(slen / 4 * 3 + 1);
        size_t n = 0;

        for (size_t i = 0; i < slen; i += 4) {
                uint32_t v = 0;
                int pad = 0;
                for (size_t j = 0; j < 4; j++) {
                        char c = s[i + j];
                        int d = value_of(c);
                        if (c == '=' && i + 4 == slen && j >= 2 && (j == 3 || s[i + 3] == '=')) {
                                pad++;
                                d = 0;
                        } else if (d < 0 || pad) {
                                return coco_error_set(err, EINVAL,
                                                      "invalid base64 character at offset %zu",
                                                      i + j);
                        }
                        v = v << 6 | (uint32_t)d;
                }
                out[n++] = (uint8_t)(v >> 16);
                if (pad < 2)
                        out[n++] = (uint8_t)(v >> 8);
                if (pad < 1)
                        out[n++] = (uint8_t)v;
        }
        *ret_data = TAKE_PTR(out);
        *ret_len = n;
        return 0;
}
