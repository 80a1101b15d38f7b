/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The error type. A failing function returns a negative errno value and, when
 * the caller passed one, fills *err with a message saying what failed and what
 * to do. Callers add context with coco_error_wrap(); the program boundary logs
 * once. coco_error_status() is the only place errno values become ttRPC/gRPC
 * status codes; coco_status_errno() is its inverse for replies we receive.
 */
#pragma once

#include "macro.h"

/* gRPC status codes, as carried in ttRPC responses. */
enum coco_status {
        COCO_STATUS_OK = 0,
        COCO_STATUS_CANCELLED = 1,
        COCO_STATUS_UNKNOWN = 2,
        COCO_STATUS_INVALID_ARGUMENT = 3,
        COCO_STATUS_DEADLINE_EXCEEDED = 4,
        COCO_STATUS_NOT_FOUND = 5,
        COCO_STATUS_ALREADY_EXISTS = 6,
        COCO_STATUS_PERMISSION_DENIED = 7,
        COCO_STATUS_RESOURCE_EXHAUSTED = 8,
        COCO_STATUS_FAILED_PRECONDITION = 9,
        COCO_STATUS_ABORTED = 10,
        COCO_STATUS_OUT_OF_RANGE = 11,
        COCO_STATUS_UNIMPLEMENTED = 12,
        COCO_STATUS_INTERNAL = 13,
        COCO_STATUS_UNAVAILABLE = 14,
        COCO_STATUS_DATA_LOSS = 15,
        COCO_STATUS_UNAUTHENTICATED = 16,
};

struct coco_error {
        int errnum;    /* positive errno value */
        char *message; /* what failed and what to do */
};

/*
 * Set *err (when err is not NULL and *err is still empty) and return -errnum.
 * errnum may be given positive or negative.
 */
int coco_error_set(struct coco_error **err, int errnum, const char *fmt, ...) _printf_(3, 4);
/* Prefix the message of *err with context ("context: message"); returns -errnum of *err. */
int coco_error_wrap(struct coco_error **err, int errnum, const char *fmt, ...) _printf_(3, 4);
void coco_error_free(struct coco_error *e);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct coco_error *, coco_error_free)
#define _cleanup_error_ _cleanup_(coco_error_freep)

/* A message for display: the error's own, or strerror of errnum. */
const char *coco_error_message(const struct coco_error *e, int errnum);

enum coco_status coco_error_status(int errnum);
int coco_status_errno(int status);
const char *coco_status_name(int status);
