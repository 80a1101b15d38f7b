/* SPDX-License-Identifier: Apache-2.0 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "error.h"
#include "util.h"

static char *vformat(const char *fmt, va_list ap)
{
        char *s;
        if (vasprintf(&s, fmt, ap) < 0)
                abort(); /* out of memory: see docs/development.md */
        return s;
}

int coco_error_set(struct coco_error **err, int errnum, const char *fmt, ...)
{
        if (errnum < 0)
                errnum = -errnum;
        if (errnum == 0)
                errnum = EIO;
        if (err && !*err) {
                va_list ap;
                struct coco_error *e = xmalloc(sizeof(*e));
                va_start(ap, fmt);
                e->message = vformat(fmt, ap);
                va_end(ap);
                e->errnum = errnum;
                *err = e;
        }
        return -errnum;
}

int coco_error_wrap(struct coco_error **err, int errnum, const char *fmt, ...)
{
        va_list ap;
        char *ctx;

        if (errnum < 0)
                errnum = -errnum;
        if (!err)
                return errnum ? -errnum : -EIO;
        va_start(ap, fmt);
        ctx = vformat(fmt, ap);
        va_end(ap);
        if (!*err) {
                /* nothing to wrap: the context plus the errno text becomes the message */
                coco_error_set(err, errnum, "%s: %s", ctx, strerror(errnum ? errnum : EIO));
        } else {
                char *m = xasprintf("%s: %s", ctx, (*err)->message);
                free((*err)->message);
                (*err)->message = m;
        }
        free(ctx);
        return -(*err)->errnum;
}

void coco_error_free(struct coco_error *e)
{
        if (!e)
                return;
        free(e->message);
        free(e);
}

const char *coco_error_message(const struct coco_error *e, int errnum)
{
        if (e)
                return e->message;
        return strerror(errnum < 0 ? -errnum : errnum);
}

enum coco_status coco_error_status(int errnum)
{
        switch (errnum < 0 ? -errnum : errnum) {
        case 0:
                return COCO_STATUS_OK;
        case ECANCELED:
                return COCO_STATUS_CANCELLED;
        case EINVAL:
        case EBADMSG:
        case E2BIG:
        case ENAMETOOLONG:
                return COCO_STATUS_INVALID_ARGUMENT;
        case ETIMEDOUT:
                return COCO_STATUS_DEADLINE_EXCEEDED;
        case ENOENT:
        case ESRCH:
                return COCO_STATUS_NOT_FOUND;
        case EEXIST:
                return COCO_STATUS_ALREADY_EXISTS;
        case EPERM:
        case EACCES:
                return COCO_STATUS_PERMISSION_DENIED;
        case ENOSPC:
        case EMFILE:
        case ENFILE:
        case EMSGSIZE:
                return COCO_STATUS_RESOURCE_EXHAUSTED;
        case EBUSY:
        case ENOTEMPTY:
        case EALREADY:
                return COCO_STATUS_FAILED_PRECONDITION;
        case ERANGE:
                return COCO_STATUS_OUT_OF_RANGE;
        case EOPNOTSUPP:
        case ENOSYS:
                return COCO_STATUS_UNIMPLEMENTED;
        case EPROTO:
        case EFAULT:
                return COCO_STATUS_INTERNAL;
        case ECONNREFUSED:
        case ECONNRESET:
        case ENOTCONN:
        case EPIPE:
        case ESHUTDOWN:
        case EHOSTUNREACH:
                return COCO_STATUS_UNAVAILABLE;
        default:
                return COCO_STATUS_UNKNOWN;
        }
}

int coco_status_errno(int status)
{
        switch (status) {
        case COCO_STATUS_OK:
                return 0;
        case COCO_STATUS_CANCELLED:
                return ECANCELED;
        case COCO_STATUS_INVALID_ARGUMENT:
                return EINVAL;
        case COCO_STATUS_DEADLINE_EXCEEDED:
                return ETIMEDOUT;
        case COCO_STATUS_NOT_FOUND:
                return ENOENT;
        case COCO_STATUS_ALREADY_EXISTS:
                return EEXIST;
        case COCO_STATUS_PERMISSION_DENIED:
        case COCO_STATUS_UNAUTHENTICATED:
                return EPERM;
        case COCO_STATUS_RESOURCE_EXHAUSTED:
                return ENOSPC;
        case COCO_STATUS_FAILED_PRECONDITION:
        case COCO_STATUS_ABORTED:
                return EBUSY;
        case COCO_STATUS_OUT_OF_RANGE:
                return ERANGE;
        case COCO_STATUS_UNIMPLEMENTED:
                return EOPNOTSUPP;
        case COCO_STATUS_INTERNAL:
        case COCO_STATUS_DATA_LOSS:
                return EPROTO;
        case COCO_STATUS_UNAVAILABLE:
                return ENOTCONN;
        default:
                return EIO;
        }
}

const char *coco_status_name(int status)
{
        static const char *const names[] = {
                "OK",
                "Canceled",
                "Unknown",
                "InvalidArgument",
                "DeadlineExceeded",
                "NotFound",
                "AlreadyExists",
                "PermissionDenied",
                "ResourceExhausted",
                "FailedPrecondition",
                "Aborted",
                "OutOfRange",
                "Unimplemented",
                "Internal",
                "Unavailable",
                "DataLoss",
                "Unauthenticated",
        };
        if (status < 0 || (size_t)status >= ELEMENTSOF(names))
                return "Unknown";
        return names[status];
}
