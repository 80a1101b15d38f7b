/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Transports. vsock port 1024 where the guest has a vsock transport; the
 * virtio-serial port named agent.channel.0 otherwise. A virtio-serial port is
 * one stream shared by every host connection in turn: it reports POLLHUP while
 * no host side is connected, so the loop waits for a host, serves it until it
 * leaves, and opens the port again for the next one.
 */
#include <dirent.h>
#include <fcntl.h>
#include <linux/vm_sockets.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "agent.h"
#include "log.h"
#include "util.h"

static char *find_serial_port(const char *name)
{
        DIR *d = opendir("/sys/class/virtio-ports");
        struct dirent *e;
        char *found = NULL;

        if (!d)
                return NULL;
        while (!found && (e = readdir(d))) {
                char path[300], buf[128];
                if (e->d_name[0] == '.')
                        continue;
                snprintf(path, sizeof(path), "/sys/class/virtio-ports/%s/name", e->d_name);
                int fd = open(path, O_RDONLY | O_CLOEXEC);
                if (fd < 0)
                        continue;
                ssize_t n = read(fd, buf, sizeof(buf) - 1);
                close(fd);
                if (n <= 0)
                        continue;
                buf[n] = 0;
                buf[strcspn(buf, "\n")] = 0;
                if (strcmp(buf, name) == 0)
                        found = xasprintf("/dev/%s", e->d_name);
        }
        closedir(d);
        return found;
}

static void sleep_ms(long ms)
{
        struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000};
        nanosleep(&ts, NULL);
}

static void *serial_loop(void *arg)
{
        struct agent *a = arg;
        char *dev = NULL;

        for (int i = 0; !dev && i < 100; i++) { /* the port may appear after the module loads */
                dev = find_serial_port(AGENT_SERIAL_NAME);
                if (!dev)
                        sleep_ms(50);
        }
        if (!dev) {
                log_info("no virtio-serial port named %s", AGENT_SERIAL_NAME);
                return NULL;
        }
        log_info("serving on virtio-serial port %s", dev);
        for (;;) {
                int fd = open(dev, O_RDWR | O_CLOEXEC | O_NOCTTY);
                if (fd < 0) {
                        log_error("opening %s: %s", dev, strerror(errno));
                        sleep_ms(200);
                        continue;
                }
                /* wait for a host to connect */
                for (;;) {
                        struct pollfd p = {.fd = fd, .events = POLLIN};
                        if (poll(&p, 1, -1) < 0 && errno != EINTR)
                                break;
                        if (!(p.revents & POLLHUP) || (p.revents & POLLIN))
                                break;
                        sleep_ms(20);
                }
                if (ttrpc_server_serve_connection(a->server, fd) == -ECANCELED)
                        break;
        }
        free(dev);
        return NULL;
}

static void *vsock_loop(void *arg)
{
        struct agent *a = arg;
        _cleanup_error_ struct coco_error *err = NULL;

        if (ttrpc_server_run(a->server, &err) < 0)
                log_error("vsock server: %s", coco_error_message(err, -EIO));
        return NULL;
}

static int vsock_listen(void)
{
        struct sockaddr_vm sa = {
                .svm_family = AF_VSOCK,
                .svm_cid = VMADDR_CID_ANY,
                .svm_port = AGENT_VSOCK_PORT,
        };
        int fd = socket(AF_VSOCK, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0)
                return -errno;
        if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 16) < 0) {
                int r = -errno;
                close(fd);
                return r;
        }
        return fd;
}

/* Is a virtio device bound to the guest's virtio-vsock transport driver? */
static bool have_vsock_transport(void)
{
        DIR *d = opendir("/sys/bus/virtio/drivers/vmw_vsock_virtio_transport");
        struct dirent *e;
        bool found = false;

        if (!d)
                return false;
        while (!found && (e = readdir(d)))
                found = strncmp(e->d_name, "virtio", 6) == 0;
        closedir(d);
        return found;
}

int channel_start(struct agent *a, struct coco_error **err)
{
        pthread_t t;
        int fd = have_vsock_transport() ? vsock_listen() : -ENODEV;

        if (fd >= 0) {
                int r = ttrpc_server_add_listener(a->server, fd, err);
                if (r < 0)
                        return r;
                log_info("serving on vsock port %d", AGENT_VSOCK_PORT);
                if (pthread_create(&t, NULL, vsock_loop, a) != 0)
                        return coco_error_set(err, EAGAIN, "starting the vsock thread");
                pthread_detach(t);
        }
        if (pthread_create(&t, NULL, serial_loop, a) != 0)
                return coco_error_set(err, EAGAIN, "starting the virtio-serial thread");
        pthread_detach(t);
        return 0;
}
