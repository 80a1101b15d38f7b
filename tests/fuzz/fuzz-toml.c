/* SPDX-License-Identifier: Apache-2.0 */
/* Fuzz the TOML subset reader: any input parses or fails cleanly; parsed entries are sane. */
#include <stdint.h>
#include <string.h>

#include "toml.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        struct toml_doc *d = NULL;

        if (toml_parse((const char *)data, size, &d, NULL) < 0)
                return 0;
        for (size_t i = 0; i < d->n_entries; i++) {
                const struct toml_entry *e = &d->entries[i];
                if (!e->table || !e->key || !e->value || e->line == 0)
                        __builtin_trap();
                /* duplicates are refused and keys hold no NUL: lookup finds this entry */
                if (toml_get(d, e->table, e->key) != e)
                        __builtin_trap();
        }
        toml_doc_free(d);
        return 0;
}
