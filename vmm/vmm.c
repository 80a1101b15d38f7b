/* SPDX-License-Identifier: Apache-2.0 */
/* The parts of the VM interface that need no libvirt (the shim links these). */
#include "util.h"
#include "vmm.h"

void vmm_vm_done(struct vmm_vm *vm)
{
        free(vm->name);
        free(vm->agent_socket);
        free(vm->console_log);
        *vm = (struct vmm_vm){0};
}

char *vmm_domain_name(const char *sandbox_id)
{
        return xasprintf("coco-%s", sandbox_id);
}
