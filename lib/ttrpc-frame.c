/* SPDX-License-Identifier: Apache-2.0 */
#include <string.h>

#include "ttrpc.h"
#include "util.h"

static uint32_t get_be32(const uint8_t *p)
{
        return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void put_be32(uint8_t *p, uint32_t v)
{
        p[0] = (uint8_t)(v >> 24);
        p[1] = (uint8_t)(v >> 16);
        p[2] = (uint8_t)(v >> 8);
        p[3] = (uint8_t)v;
}

void ttrpc_header_encode(const struct ttrpc_header *h, uint8_t out[TTRPC_HEADER_SIZE])
{
        put_be32(out, h->length);
        put_be32(out + 4, h->stream_id);
        out[8] = h->type;
        out[9] = h->flags;
}

int ttrpc_header_decode(const uint8_t in[TTRPC_HEADER_SIZE], struct ttrpc_header *ret,
                        struct coco_error **err)
{
        struct ttrpc_header h = {
                .length = get_be32(in),
                .stream_id = get_be32(in + 4),
                .type = in[8],
                .flags = in[9],
        };

        if (h.length > TTRPC_MAX_PAYLOAD)
                return coco_error_set(err, EMSGSIZE,
                                      "ttrpc frame of %u bytes is over the %u byte limit", h.length,
                                      TTRPC_MAX_PAYLOAD);
        if (h.type < TTRPC_TYPE_REQUEST || h.type > TTRPC_TYPE_DATA)
                return coco_error_set(err, EPROTO, "ttrpc frame has unknown type %u", h.type);
        *ret = h;
        return 0;
}

int ttrpc_frame_parse(const uint8_t *buf, size_t len, struct ttrpc_header *ret_header,
                      const uint8_t **ret_payload, size_t *ret_consumed, struct coco_error **err)
{
        struct ttrpc_header h;
        int r;

        if (len < TTRPC_HEADER_SIZE)
                return -EAGAIN;
        r = ttrpc_header_decode(buf, &h, err);
        if (r < 0)
                return r;
        if (len - TTRPC_HEADER_SIZE < h.length)
                return -EAGAIN;
        *ret_header = h;
        *ret_payload = buf + TTRPC_HEADER_SIZE;
        *ret_consumed = TTRPC_HEADER_SIZE + (size_t)h.length;
        return 0;
}

int ttrpc_frame_read(int fd, struct ttrpc_header *ret_header, uint8_t **ret_payload,
                     struct coco_error **err)
{
        uint8_t hdr[TTRPC_HEADER_SIZE];
        _cleanup_free_ uint8_t *payload = NULL;
        struct ttrpc_header h;
        int r;

        r = read_full(fd, hdr, sizeof(hdr));
        if (r == -EPIPE)
                return r; /* clean end of stream */
        if (r < 0)
                return coco_error_set(err, r, "reading ttrpc frame header: %s", strerror(-r));
        r = ttrpc_header_decode(hdr, &h, err);
        if (r < 0)
                return r;
        if (h.length > 0) {
                payload = xmalloc(h.length);
                r = read_full(fd, payload, h.length);
                if (r < 0)
                        return coco_error_set(err, r == -EPIPE ? EPROTO : -r,
                                              "reading %u byte ttrpc payload: %s", h.length,
                                              r == -EPIPE ? "stream ended inside the frame"
                                                          : strerror(-r));
        }
        *ret_header = h;
        *ret_payload = TAKE_PTR(payload);
        return 0;
}

int ttrpc_frame_write(int fd, bool is_socket, const struct ttrpc_header *h, const void *payload,
                      size_t len, struct coco_error **err)
{
        uint8_t hdr[TTRPC_HEADER_SIZE];
        struct ttrpc_header hh = *h;
        int r;

        if (len > TTRPC_MAX_PAYLOAD)
                return coco_error_set(err, EMSGSIZE,
                                      "ttrpc message of %zu bytes is over the %u byte limit", len,
                                      TTRPC_MAX_PAYLOAD);
        hh.length = (uint32_t)len;
        ttrpc_header_encode(&hh, hdr);
        r = write_all(fd, is_socket, hdr, sizeof(hdr), payload, len);
        if (r < 0)
                return coco_error_set(err, r, "writing ttrpc frame: %s", strerror(-r));
        return 0;
}

int ttrpc_request_decode(const uint8_t *buf, size_t len, Ttrpc__Request **ret,
                         struct coco_error **err)
{
        Ttrpc__Request *req = ttrpc__request__unpack(NULL, len, buf);

        if (!req)
                return coco_error_set(err, EBADMSG, "malformed ttrpc request envelope");
        if (!req->service || !*req->service || !req->method || !*req->method) {
                ttrpc__request__free_unpacked(req, NULL);
                return coco_error_set(err, EBADMSG, "ttrpc request names no service or method");
        }
        *ret = req;
        return 0;
}

const char *ttrpc_request_metadata(const Ttrpc__Request *r, const char *key)
{
        for (size_t i = 0; i < r->n_metadata; i++)
                if (r->metadata[i]->key && strcmp(r->metadata[i]->key, key) == 0)
                        return r->metadata[i]->value;
        return NULL;
}

void ttrpc_pack(const ProtobufCMessage *msg, uint8_t **ret_buf, size_t *ret_len)
{
        size_t len = protobuf_c_message_get_packed_size(msg);
        uint8_t *buf = xmalloc(len);

        protobuf_c_message_pack(msg, buf);
        *ret_buf = buf;
        *ret_len = len;
}
