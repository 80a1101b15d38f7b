/* SPDX-License-Identifier: Apache-2.0 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <cmocka.h>

#include "error.h"

static void test_set_returns_negative_and_message(void **state)
{
        (void)state;
        _cleanup_error_ struct coco_error *err = NULL;

        assert_int_equal(coco_error_set(&err, ENOENT, "no %s here", "bundle"), -ENOENT);
        assert_non_null(err);
        assert_int_equal(err->errnum, ENOENT);
        assert_string_equal(err->message, "no bundle here");
        /* a second set keeps the first, most specific message */
        assert_int_equal(coco_error_set(&err, -EINVAL, "later"), -EINVAL);
        assert_string_equal(err->message, "no bundle here");
}

static void test_set_without_error_pointer(void **state)
{
        (void)state;
        assert_int_equal(coco_error_set(NULL, EPERM, "ignored"), -EPERM);
        assert_int_equal(coco_error_set(NULL, 0, "zero becomes EIO"), -EIO);
}

static void test_wrap_adds_context(void **state)
{
        (void)state;
        _cleanup_error_ struct coco_error *err = NULL;

        coco_error_set(&err, EACCES, "firmware is not readable");
        assert_int_equal(coco_error_wrap(&err, 0, "starting VM \"%s\"", "pod-1"), -EACCES);
        assert_string_equal(err->message, "starting VM \"pod-1\": firmware is not readable");
}

static void test_wrap_without_inner_uses_strerror(void **state)
{
        (void)state;
        _cleanup_error_ struct coco_error *err = NULL;

        assert_int_equal(coco_error_wrap(&err, -ENOENT, "opening config"), -ENOENT);
        assert_string_equal(err->message, "opening config: No such file or directory");
}

static void test_status_mapping(void **state)
{
        (void)state;
        static const struct {
                int errnum;
                enum coco_status status;
        } table[] = {
                {0, COCO_STATUS_OK},
                {ENOENT, COCO_STATUS_NOT_FOUND},
                {EEXIST, COCO_STATUS_ALREADY_EXISTS},
                {EINVAL, COCO_STATUS_INVALID_ARGUMENT},
                {EBUSY, COCO_STATUS_FAILED_PRECONDITION},
                {EOPNOTSUPP, COCO_STATUS_UNIMPLEMENTED},
                {EPERM, COCO_STATUS_PERMISSION_DENIED},
                {ETIMEDOUT, COCO_STATUS_DEADLINE_EXCEEDED},
                {ECONNRESET, COCO_STATUS_UNAVAILABLE},
                {ECANCELED, COCO_STATUS_CANCELLED},
                {EPROTO, COCO_STATUS_INTERNAL},
                {ENOMEM, COCO_STATUS_UNKNOWN},
        };
        for (size_t i = 0; i < ELEMENTSOF(table); i++) {
                assert_int_equal(coco_error_status(table[i].errnum), table[i].status);
                assert_int_equal(coco_error_status(-table[i].errnum), table[i].status);
        }
        /* every status maps back to an errno that maps to the same status */
        for (int code = 0; code <= COCO_STATUS_UNAUTHENTICATED; code++) {
                int e = coco_status_errno(code);
                if (code == COCO_STATUS_UNKNOWN || code == COCO_STATUS_ABORTED ||
                    code == COCO_STATUS_DATA_LOSS || code == COCO_STATUS_UNAUTHENTICATED)
                        continue; /* many-to-one on purpose */
                assert_int_equal(coco_error_status(e), code);
        }
        assert_string_equal(coco_status_name(COCO_STATUS_UNIMPLEMENTED), "Unimplemented");
        assert_string_equal(coco_status_name(99), "Unknown");
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_set_returns_negative_and_message),
                cmocka_unit_test(test_set_without_error_pointer),
                cmocka_unit_test(test_wrap_adds_context),
                cmocka_unit_test(test_wrap_without_inner_uses_strerror),
                cmocka_unit_test(test_status_mapping),
        };
        return cmocka_run_group_tests_name("error", tests, NULL, NULL);
}
