/* SPDX-License-Identifier: Apache-2.0 */
/* The baseline for the boot benchmark: an init that powers the guest off at once. */
#include <sys/reboot.h>
#include <unistd.h>

int main(void)
{
        reboot(RB_POWER_OFF);
        return 0;
}
