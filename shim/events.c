/* SPDX-License-Identifier: Apache-2.0 */
/* Task events to containerd's ttRPC Events.Forward, in the order they happen. */
#include <string.h>

#include "github.com/containerd/containerd/api/services/ttrpc/events/v1/events.pb-c.h"
#include "log.h"
#include "shim.h"
#include "util.h"

void event_publish(struct shim *s, const char *topic, const ProtobufCMessage *event,
                   const char *type_url)
{
        _cleanup_error_ struct coco_error *err = NULL;
        _cleanup_free_ uint8_t *payload = NULL;
        size_t len;
        uint64_t now = now_realtime_ns();

        ttrpc_pack(event, &payload, &len);
        Google__Protobuf__Timestamp ts = GOOGLE__PROTOBUF__TIMESTAMP__INIT;
        ts.seconds = (int64_t)(now / NSEC_PER_SEC);
        ts.nanos = (int32_t)(now % NSEC_PER_SEC);
        Google__Protobuf__Any any = GOOGLE__PROTOBUF__ANY__INIT;
        any.type_url = (char *)type_url;
        any.value.data = payload;
        any.value.len = len;
        Containerd__Services__Events__Ttrpc__V1__Envelope env =
                CONTAINERD__SERVICES__EVENTS__TTRPC__V1__ENVELOPE__INIT;
        env.timestamp = &ts;
        env.namespace_ = s->ns;
        env.topic = (char *)topic;
        env.event = &any;
        Containerd__Services__Events__Ttrpc__V1__ForwardRequest req =
                CONTAINERD__SERVICES__EVENTS__TTRPC__V1__FORWARD_REQUEST__INIT;
        req.envelope = &env;
        struct ttrpc_call_opts o = {.ns = s->ns, .timeout_ns = 10 * NSEC_PER_SEC};

        /* one publisher at a time keeps the order; redial once if containerd restarted */
        pthread_mutex_lock(&s->events_lock);
        int r = -ENOTCONN;
        for (int attempt = 0; attempt < 2; attempt++) {
                if (!s->events && ttrpc_client_dial_unix(s->ttrpc_address, &s->events, &err) < 0)
                        break;
                coco_error_free(TAKE_PTR(err));
                r = ttrpc_client_call(s->events, "containerd.services.events.ttrpc.v1.Events",
                                      "Forward", &req.base, &google__protobuf__empty__descriptor,
                                      NULL, &o, &err);
                if (r != -ECONNRESET && r != -ENOTCONN && r != -EPIPE)
                        break; /* done, or refused by containerd: redialling would not help */
                ttrpc_client_free(TAKE_PTR(s->events));
        }
        pthread_mutex_unlock(&s->events_lock);
        if (r < 0)
                log_warn("publishing %s: %s", topic, coco_error_message(err, r));
        else
                log_debug("published %s", topic);
}
