/* SPDX-License-Identifier: Apache-2.0 */
/*
 * stdio: containerd's fifos relayed to the agent's stream calls. Output
 * relays read until the agent reports the end of the stream (an empty read),
 * so nothing is lost at exit; the waiter joins them before reporting the exit.
 */
#include <fcntl.h>
#include <poll.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "shim.h"
#include "util.h"

struct relay {
        struct shim *s;
        struct proc *p;
        int which; /* 0 stdin, 1 stdout, 2 stderr */
};

static void *output(void *arg)
{
        struct relay *rl = arg;
        const char *path = rl->which == 1 ? rl->p->stdout_path : rl->p->stderr_path;
        int fd = open(path, O_WRONLY | O_CLOEXEC); /* containerd holds the read end open */
        if (fd < 0)
                log_warn("opening %s: %s", path, strerror(errno));
        for (;;) {
                Grpc__ReadStreamRequest req = GRPC__READ_STREAM_REQUEST__INIT;
                Grpc__ReadStreamResponse *resp = NULL;
                req.container_id = rl->p->task->id;
                req.exec_id = rl->p->exec_id;
                req.len = 65536;
                if (agent_call(rl->s, rl->which == 1 ? "ReadStdout" : "ReadStderr", &req.base,
                               &grpc__read_stream_response__descriptor, (ProtobufCMessage **)&resp,
                               0, NULL) < 0)
                        break;
                size_t n = resp->data.len;
                if (n && fd >= 0)
                        (void)write_all(fd, false, resp->data.data, n, NULL, 0);
                protobuf_c_message_free_unpacked(&resp->base, NULL);
                if (n == 0)
                        break; /* end of stream */
        }
        safe_close(fd);
        free(rl);
        return NULL;
}

/*
 * A fifo's buffer lives only while one of its ends is open, and containerd's
 * client may write all of stdin and close before we would open it: so the
 * read end is opened non-blocking when the process is created, and here we
 * poll until the writer has come and gone (POLLHUP after its data).
 */
void io_open_stdin(struct proc *p)
{
        p->stdin_fd = -EBADF;
        if (p->stdin_path && *p->stdin_path) {
                p->stdin_fd = open(p->stdin_path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
                if (p->stdin_fd < 0)
                        log_warn("opening %s: %s", p->stdin_path, strerror(errno));
        }
}

static void *input(void *arg)
{
        struct relay *rl = arg;
        int fd = TAKE_FD(rl->p->stdin_fd);
        uint8_t buf[32768];

        while (fd >= 0) {
                struct pollfd pf = {.fd = fd, .events = POLLIN};
                if (poll(&pf, 1, -1) < 0 && errno != EINTR)
                        break;
                ssize_t k = read(fd, buf, sizeof(buf));
                if (k < 0 && (errno == EAGAIN || errno == EINTR))
                        continue;
                if (k <= 0)
                        break; /* the writer has closed: end of input */
                Grpc__WriteStreamRequest req = GRPC__WRITE_STREAM_REQUEST__INIT;
                req.container_id = rl->p->task->id;
                req.exec_id = rl->p->exec_id;
                req.data.data = buf;
                req.data.len = (size_t)k;
                if (agent_call(rl->s, "WriteStdin", &req.base,
                               &grpc__write_stream_response__descriptor, NULL, 0, NULL) < 0)
                        break;
        }
        Grpc__CloseStdinRequest c = GRPC__CLOSE_STDIN_REQUEST__INIT;
        c.container_id = rl->p->task->id;
        c.exec_id = rl->p->exec_id;
        (void)agent_call(rl->s, "CloseStdin", &c.base, NULL, NULL, 10 * NSEC_PER_SEC, NULL);
        safe_close(fd);
        free(rl);
        return NULL;
}

void io_start(struct shim *s, struct proc *p)
{
        const char *paths[3] = {p->stdin_path, p->stdout_path, p->stderr_path};
        for (int i = 0; i < 3; i++) {
                if (!paths[i] || !*paths[i] || (i == 2 && p->terminal) ||
                    (i == 0 && p->stdin_fd < 0))
                        continue;
                struct relay *rl = xmalloc(sizeof(*rl));
                *rl = (struct relay){s, p, i};
                p->io_started[i] =
                        pthread_create(&p->io[i], NULL, i == 0 ? input : output, rl) == 0;
                if (!p->io_started[i])
                        free(rl);
        }
}

void io_join(struct proc *p)
{
        for (int i = 1; i < 3; i++) /* stdin may wait on a writer that never comes: detach it */
                if (p->io_started[i]) {
                        pthread_join(p->io[i], NULL);
                        p->io_started[i] = false;
                }
        if (p->io_started[0]) {
                pthread_detach(p->io[0]);
                p->io_started[0] = false;
        }
}
