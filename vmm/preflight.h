/* SPDX-License-Identifier: Apache-2.0 */
/* Host checks for a class: each failing item says what to install or configure. */
#pragma once

#include "class.h"
#include "vmm.h"

enum preflight_status { PREFLIGHT_OK, PREFLIGHT_FAIL, PREFLIGHT_INFO };

struct preflight_item {
        const char *item;
        enum preflight_status status;
        char *detail;
};

struct preflight {
        struct preflight_item items[16];
        size_t n;
        unsigned failures;
};

/* Run every check for class c; lv may be NULL when libvirt could not be reached. */
void vmm_preflight(const struct cfg_class *c, struct vmm_libvirt *lv, const char *lv_error,
                   struct preflight *ret);
void vmm_preflight_done(struct preflight *p);
/* The first failure as an error (for coco-vmm start). */
int vmm_preflight_error(const struct preflight *p, struct coco_error **err);
