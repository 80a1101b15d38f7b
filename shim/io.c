/* SPDX-License-Identifier: Apache-2.0 */
/*
 * stdio: containerd's fifos relayed to the agent's stream calls. Output
 * relays read until the agent reports the end of the stream (an empty read),
 * so nothing is lost at exit; the waiter joins them before reporting the exit.
 */
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "shim.h"
#include "util.h"

struct relay {
        struct shim *s;
        struct task *t;
        int which; /* 0 stdin, 1 stdout, 2 stderr */
};

static void *output(void *arg)
{
        struct relay *rl = arg;
        const char *path = rl->which == 1 ? rl->t->stdout_path : rl->t->stderr_path;
        int fd = open(path, O_WRONLY | O_CLOEXEC); /* containerd holds the read end open */
        if (fd < 0)
                log_warn("opening %s: %s", path, strerror(errno));
        for (;;) {
                Grpc__ReadStreamRequest req = GRPC__READ_STREAM_REQUEST__INIT;
                Grpc__ReadStreamResponse *resp = NULL;
                req.container_id = rl->t->id;
                req.exec_id = "";
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

static void *input(void *arg)
{
        struct relay *rl = arg;
        int fd = open(rl->t->stdin_path, O_RDONLY | O_CLOEXEC);
        uint8_t buf[32768];
        ssize_t k;

        while (fd >= 0 && ((k = read(fd, buf, sizeof(buf))) > 0 || (k < 0 && errno == EINTR))) {
                if (k <= 0)
                        continue;
                Grpc__WriteStreamRequest req = GRPC__WRITE_STREAM_REQUEST__INIT;
                req.container_id = rl->t->id;
                req.exec_id = "";
                req.data.data = buf;
                req.data.len = (size_t)k;
                if (agent_call(rl->s, "WriteStdin", &req.base,
                               &grpc__write_stream_response__descriptor, NULL, 0, NULL) < 0)
                        break;
        }
        Grpc__CloseStdinRequest c = GRPC__CLOSE_STDIN_REQUEST__INIT;
        c.container_id = rl->t->id;
        c.exec_id = "";
        (void)agent_call(rl->s, "CloseStdin", &c.base, NULL, NULL, 10 * NSEC_PER_SEC, NULL);
        safe_close(fd);
        free(rl);
        return NULL;
}

void io_start(struct shim *s, struct task *t)
{
        const char *paths[3] = {t->stdin_path, t->stdout_path, t->stderr_path};
        for (int i = 0; i < 3; i++) {
                if (!paths[i] || !*paths[i] || (i == 2 && t->terminal))
                        continue;
                struct relay *rl = xmalloc(sizeof(*rl));
                *rl = (struct relay){s, t, i};
                t->io_started[i] =
                        pthread_create(&t->io[i], NULL, i == 0 ? input : output, rl) == 0;
                if (!t->io_started[i])
                        free(rl);
        }
}

void io_join(struct task *t)
{
        for (int i = 1; i < 3; i++) /* stdin may wait on a writer that never comes: detach it */
                if (t->io_started[i]) {
                        pthread_join(t->io[i], NULL);
                        t->io_started[i] = false;
                }
        if (t->io_started[0]) {
                pthread_detach(t->io[0]);
                t->io_started[0] = false;
        }
}
