/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Open a pidfd for PID, signal it, and report how long the pidfd took to say
 * the process is gone: how the shim learns that QEMU died, without libvirt.
 *   pidfd-wait PID SIGNAL TIMEOUT_MS     prints the milliseconds; exit 1 on timeout
 */
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static double now_ms(void)
{
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

int main(int argc, char **argv)
{
        if (argc != 4) {
                fprintf(stderr, "usage: %s PID SIGNAL TIMEOUT_MS\n", argv[0]);
                return 2;
        }
        pid_t pid = atoi(argv[1]);
        int fd = (int)syscall(SYS_pidfd_open, pid, 0);
        if (fd < 0) {
                perror("pidfd_open");
                return 2;
        }
        double t0 = now_ms();
        if (syscall(SYS_pidfd_send_signal, fd, atoi(argv[2]), NULL, 0) < 0) {
                perror("pidfd_send_signal");
                return 2;
        }
        struct pollfd p = {.fd = fd, .events = POLLIN};
        int r = poll(&p, 1, atoi(argv[3]));
        printf("%.1f\n", now_ms() - t0);
        return r == 1 ? 0 : 1;
}
