/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A reader for the subset of TOML that initdata documents use: comments,
 * [table] headers, and key = "string" pairs with all four string forms
 * (basic, literal, multi-line basic, multi-line literal). Keys are bare or
 * quoted. Anything else (numbers, arrays, inline or array tables, dotted keys)
 * is an error naming its line and column, never a silent skip.
 */
#pragma once

#include <stddef.h>

#include "error.h"

struct toml_entry {
        char *table; /* "" for the top level */
        char *key;
        char *value;
        size_t value_len; /* values may hold NUL only through \u0000 */
        unsigned line;
};

struct toml_doc {
        struct toml_entry *entries;
        size_t n_entries;
};

int toml_parse(const char *text, size_t len, struct toml_doc **ret, struct coco_error **err);
/* The entry for table/key, or NULL. */
const struct toml_entry *toml_get(const struct toml_doc *d, const char *table, const char *key);
void toml_doc_free(struct toml_doc *d);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct toml_doc *, toml_doc_free)
