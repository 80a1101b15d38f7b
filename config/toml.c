/* SPDX-License-Identifier: Apache-2.0 */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "toml.h"
#include "util.h"

struct parser {
        const char *s;
        size_t len, pos;
        unsigned line;
        size_t line_start;
        struct coco_error **err;
};

struct buf {
        char *data;
        size_t len, cap;
};

static void buf_put(struct buf *b, const void *p, size_t n)
{
        if (b->len + n + 1 > b->cap) {
                b->cap = (b->len + n + 1) * 2;
                b->data = xrealloc(b->data, b->cap);
        }
        memcpy(b->data + b->len, p, n);
        b->len += n;
        b->data[b->len] = 0;
}

static void buf_putc(struct buf *b, char c)
{
        buf_put(b, &c, 1);
}

static int fail(struct parser *p, const char *what)
{
        return coco_error_set(p->err, EINVAL, "TOML line %u, column %zu: %s", p->line,
                              p->pos - p->line_start + 1, what);
}

static int peek(const struct parser *p, size_t ahead)
{
        return p->pos + ahead < p->len ? (unsigned char)p->s[p->pos + ahead] : -1;
}

static bool starts(const struct parser *p, const char *tok)
{
        size_t n = strlen(tok);
        return p->len - p->pos >= n && memcmp(p->s + p->pos, tok, n) == 0;
}

static void newline(struct parser *p)
{
        /* p->pos is on '\n' */
        p->pos++;
        p->line++;
        p->line_start = p->pos;
}

static bool at_newline(const struct parser *p)
{
        return peek(p, 0) == '\n' || (peek(p, 0) == '\r' && peek(p, 1) == '\n');
}

static void skip_newline(struct parser *p)
{
        if (peek(p, 0) == '\r')
                p->pos++;
        newline(p);
}

static void skip_ws(struct parser *p)
{
        while (peek(p, 0) == ' ' || peek(p, 0) == '\t')
                p->pos++;
}

/* After a value or header: whitespace, an optional comment, then end of line or file. */
static int end_of_line(struct parser *p)
{
        skip_ws(p);
        if (peek(p, 0) == '#') {
                while (p->pos < p->len && !at_newline(p)) {
                        int c = peek(p, 0);
                        if ((c < 0x20 && c != '\t') || c == 0x7f)
                                return fail(p, "control character in comment");
                        p->pos++;
                }
        }
        if (p->pos == p->len)
                return 0;
        if (!at_newline(p))
                return fail(p, "expected the end of the line");
        skip_newline(p);
        return 0;
}

static int put_codepoint(struct parser *p, struct buf *b, unsigned long cp)
{
        char u[4];
        size_t n;

        if (cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
                return fail(p, "escape is not a Unicode scalar value");
        if (cp < 0x80) {
                u[0] = (char)cp;
                n = 1;
        } else if (cp < 0x800) {
                u[0] = (char)(0xc0 | cp >> 6);
                u[1] = (char)(0x80 | (cp & 0x3f));
                n = 2;
        } else if (cp < 0x10000) {
                u[0] = (char)(0xe0 | cp >> 12);
                u[1] = (char)(0x80 | (cp >> 6 & 0x3f));
                u[2] = (char)(0x80 | (cp & 0x3f));
                n = 3;
        } else {
                u[0] = (char)(0xf0 | cp >> 18);
                u[1] = (char)(0x80 | (cp >> 12 & 0x3f));
                u[2] = (char)(0x80 | (cp >> 6 & 0x3f));
                u[3] = (char)(0x80 | (cp & 0x3f));
                n = 4;
        }
        buf_put(b, u, n);
        return 0;
}

static int escape(struct parser *p, struct buf *b)
{
        /* p->pos is just after the backslash */
        int c = peek(p, 0);
        size_t digits = 0;

        switch (c) {
        case 'b':
                buf_putc(b, '\b');
                break;
        case 't':
                buf_putc(b, '\t');
                break;
        case 'n':
                buf_putc(b, '\n');
                break;
        case 'f':
                buf_putc(b, '\f');
                break;
        case 'r':
                buf_putc(b, '\r');
                break;
        case '"':
                buf_putc(b, '"');
                break;
        case '\\':
                buf_putc(b, '\\');
                break;
        case 'u':
                digits = 4;
                break;
        case 'U':
                digits = 8;
                break;
        default:
                return fail(p, "unknown escape sequence in string");
        }
        p->pos++;
        if (!digits)
                return 0;
        unsigned long cp = 0;
        for (size_t i = 0; i < digits; i++) {
                int h = peek(p, 0);
                int v = h >= '0' && h <= '9'   ? h - '0'
                        : h >= 'a' && h <= 'f' ? h - 'a' + 10
                        : h >= 'A' && h <= 'F' ? h - 'A' + 10
                                               : -1;
                if (v < 0)
                        return fail(p, "\\u and \\U need 4 and 8 hex digits");
                cp = cp << 4 | (unsigned long)v;
                p->pos++;
        }
        return put_codepoint(p, b, cp);
}

/*
 * A string at p->pos, in any of the four forms. multiline_ok is false for keys.
 * On success b holds the value.
 */
static int string(struct parser *p, struct buf *b, bool multiline_ok)
{
        char q = (char)peek(p, 0);
        bool basic = q == '"';
        bool ml = multiline_ok && starts(p, basic ? "\"\"\"" : "'''");

        p->pos += ml ? 3 : 1;
        if (ml && at_newline(p))
                skip_newline(p); /* a newline right after the opening quotes is trimmed */
        for (;;) {
                int c = peek(p, 0);
                if (c < 0)
                        return fail(p, "string is not closed");
                if (c == q) {
                        if (!ml) {
                                p->pos++;
                                return 0;
                        }
                        size_t n = 0;
                        while (peek(p, n) == q)
                                n++;
                        if (n >= 3) {
                                if (n > 5)
                                        return fail(p, "too many quotes closing a string");
                                for (size_t i = 0; i < n - 3; i++)
                                        buf_putc(b, q);
                                p->pos += n;
                                return 0;
                        }
                        buf_put(b, p->s + p->pos, n);
                        p->pos += n;
                        continue;
                }
                if (at_newline(p)) {
                        if (!ml)
                                return fail(p, "newline inside a single-line string");
                        buf_putc(b, '\n');
                        skip_newline(p);
                        continue;
                }
                if (basic && c == '\\') {
                        p->pos++;
                        if (ml) {
                                /* line-ending backslash: drop it and the white space after */
                                size_t save = p->pos;
                                skip_ws(p);
                                if (at_newline(p)) {
                                        while (at_newline(p) || peek(p, 0) == ' ' ||
                                               peek(p, 0) == '\t') {
                                                if (at_newline(p))
                                                        skip_newline(p);
                                                else
                                                        p->pos++;
                                        }
                                        continue;
                                }
                                p->pos = save;
                        }
                        int r = escape(p, b);
                        if (r < 0)
                                return r;
                        continue;
                }
                if ((c < 0x20 && c != '\t') || c == 0x7f)
                        return fail(p, "control character in string; escape it");
                buf_putc(b, (char)c);
                p->pos++;
        }
}

static bool bare_key_char(int c)
{
        return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
               c == '_' || c == '-';
}

static int key(struct parser *p, struct buf *b)
{
        int c = peek(p, 0);

        if (c == '"' || c == '\'') {
                int r = string(p, b, false);
                if (r < 0)
                        return r;
        } else if (bare_key_char(c)) {
                while (bare_key_char(peek(p, 0)))
                        buf_putc(b, p->s[p->pos++]);
        } else
                return fail(p, "expected a key");
        if (b->data && strlen(b->data) != b->len)
                return fail(p, "key contains a NUL character");
        skip_ws(p);
        if (peek(p, 0) == '.')
                return fail(p, "dotted keys are not supported in initdata");
        if (!b->data)
                buf_put(b, "", 0);
        return 0;
}

static int value_kind_error(struct parser *p)
{
        int c = peek(p, 0);
        if (c == '[')
                return fail(p, "arrays are not supported in initdata; values must be strings");
        if (c == '{')
                return fail(p,
                            "inline tables are not supported in initdata; values must be strings");
        if (c < 0 || at_newline(p))
                return fail(p, "missing value after '='");
        return fail(p, "values must be strings (quote them)");
}

static int validate_utf8(struct parser *p)
{
        const unsigned char *s = (const unsigned char *)p->s;

        for (size_t i = 0; i < p->len;) {
                unsigned char c = s[i];
                size_t n = c < 0x80             ? 1
                           : (c & 0xe0) == 0xc0 ? 2
                           : (c & 0xf0) == 0xe0 ? 3
                           : (c & 0xf8) == 0xf0 ? 4
                                                : 0;
                bool ok = n > 0 && i + n <= p->len && !(n == 2 && c < 0xc2);
                for (size_t j = 1; ok && j < n; j++)
                        ok = (s[i + j] & 0xc0) == 0x80;
                if (ok && n == 3)
                        ok = !(c == 0xe0 && s[i + 1] < 0xa0) && !(c == 0xed && s[i + 1] >= 0xa0);
                if (ok && n == 4)
                        ok = !(c == 0xf0 && s[i + 1] < 0x90) && !(c == 0xf4 && s[i + 1] >= 0x90) &&
                             c <= 0xf4;
                if (!ok || c == 0) {
                        /* report the position: count lines up to i */
                        for (size_t k = p->pos; k < i; k++)
                                if (s[k] == '\n') {
                                        p->line++;
                                        p->line_start = k + 1;
                                }
                        p->pos = i;
                        return fail(p, c == 0 ? "NUL byte in document" : "invalid UTF-8");
                }
                i += n;
        }
        return 0;
}

static void add_entry(struct toml_doc *d, const char *table, struct buf *k, struct buf *v,
                      unsigned line)
{
        d->entries = xrealloc(d->entries, (d->n_entries + 1) * sizeof(*d->entries));
        d->entries[d->n_entries++] = (struct toml_entry){
                .table = xstrdup(table),
                .key = TAKE_PTR(k->data),
                .value = v->data ? TAKE_PTR(v->data) : xstrdup(""),
                .value_len = v->len,
                .line = line,
        };
}

static int parse(struct parser *p, struct toml_doc *d)
{
        _cleanup_free_ char *table = xstrdup("");
        _cleanup_free_ char *seen_tables = xstrdup("\n");
        int r = validate_utf8(p);
        if (r < 0)
                return r;

        while (p->pos < p->len) {
                skip_ws(p);
                if (p->pos == p->len)
                        break;
                if (at_newline(p)) {
                        skip_newline(p);
                        continue;
                }
                if (peek(p, 0) == '#') {
                        r = end_of_line(p);
                        if (r < 0)
                                return r;
                        continue;
                }
                if (peek(p, 0) == '[') {
                        struct buf k = {0};
                        if (peek(p, 1) == '[')
                                return fail(p, "arrays of tables are not supported in initdata");
                        p->pos++;
                        skip_ws(p);
                        r = key(p, &k);
                        if (r >= 0 && peek(p, 0) != ']')
                                r = fail(p, "expected ']' closing the table header");
                        if (r >= 0) {
                                p->pos++;
                                _cleanup_free_ char *marker = xasprintf("\n%s\n", k.data);
                                if (strstr(seen_tables, marker))
                                        r = fail(p, "table defined twice");
                                else {
                                        char *t = xasprintf("%s%s\n", seen_tables, k.data);
                                        free(seen_tables);
                                        seen_tables = t;
                                }
                        }
                        if (r < 0) {
                                free(k.data);
                                return r;
                        }
                        free(table);
                        table = TAKE_PTR(k.data);
                        r = end_of_line(p);
                        if (r < 0)
                                return r;
                        continue;
                }

                struct buf k = {0}, v = {0};
                unsigned line = p->line;
                r = key(p, &k);
                if (r >= 0 && peek(p, 0) != '=')
                        r = fail(p, "expected '=' after the key");
                if (r >= 0) {
                        p->pos++;
                        skip_ws(p);
                        if (peek(p, 0) == '"' || peek(p, 0) == '\'')
                                r = string(p, &v, true);
                        else
                                r = value_kind_error(p);
                }
                if (r >= 0 && toml_get(d, table, k.data)) {
                        p->pos = p->line_start;
                        p->line = line;
                        r = fail(p, "key defined twice");
                }
                if (r >= 0)
                        r = end_of_line(p);
                if (r < 0) {
                        free(k.data);
                        free(v.data);
                        return r;
                }
                add_entry(d, table, &k, &v, line);
        }
        return 0;
}

int toml_parse(const char *text, size_t len, struct toml_doc **ret, struct coco_error **err)
{
        struct parser p = {.s = text, .len = len, .line = 1, .err = err};
        _cleanup_(toml_doc_freep) struct toml_doc *d = xcalloc(1, sizeof(*d));
        int r = parse(&p, d);

        if (r < 0)
                return r;
        *ret = TAKE_PTR(d);
        return 0;
}

const struct toml_entry *toml_get(const struct toml_doc *d, const char *table, const char *key)
{
        for (size_t i = 0; i < d->n_entries; i++)
                if (strcmp(d->entries[i].table, table) == 0 && strcmp(d->entries[i].key, key) == 0)
                        return &d->entries[i];
        return NULL;
}

void toml_doc_free(struct toml_doc *d)
{
        if (!d)
                return;
        for (size_t i = 0; i < d->n_entries; i++) {
                free(d->entries[i].table);
                free(d->entries[i].key);
                free(d->entries[i].value);
        }
        free(d->entries);
        free(d);
}
