/* SPDX-License-Identifier: Apache-2.0 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "log.h"

static char *slurp(const char *path)
{
        FILE *f = fopen(path, "re");
        static char buf[4096];
        size_t n;

        assert_non_null(f);
        n = fread(buf, 1, sizeof(buf) - 1, f);
        buf[n] = 0;
        fclose(f);
        return buf;
}

static void test_format_and_levels(void **state)
{
        (void)state;
        char path[] = "/tmp/coco-test-log-XXXXXX";
        int fd = mkstemp(path);
        assert_true(fd >= 0);
        close(fd);

        assert_int_equal(log_open(path), 0);
        log_set_level(LOG_INFO);
        log_info("starting \"%s\"\n", "pod");
        log_debug("hidden at info level");
        log_set_level(LOG_DEBUG);
        log_debug("tab\there");
        log_set_fd(STDERR_FILENO);

        char *s = slurp(path);
        unlink(path);
        /* time="YYYY-MM-DDTHH:MM:SS.nnnnnnnnnZ" level=info msg="..." */
        assert_int_equal(strncmp(s, "time=\"", 6), 0);
        assert_int_equal(s[6 + 10], 'T');
        assert_non_null(strstr(s, "Z\" level=info msg=\"starting \\\"pod\\\"\\n\"\n"));
        assert_null(strstr(s, "hidden"));
        assert_non_null(strstr(s, "level=debug msg=\"tab\\there\"\n"));
}

static void test_quote(void **state)
{
        (void)state;
        char *q = log_quote("a\"b\\c\x01");
        assert_string_equal(q, "\"a\\\"b\\\\c\\x01\"");
        free(q);
        q = log_quote(NULL);
        assert_string_equal(q, "\"\"");
        free(q);
}

static void test_open_fails_cleanly(void **state)
{
        (void)state;
        assert_int_equal(log_open("/nonexistent-dir/log"), -ENOENT);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_format_and_levels),
                cmocka_unit_test(test_quote),
                cmocka_unit_test(test_open_fails_cleanly),
        };
        return cmocka_run_group_tests_name("log", tests, NULL, NULL);
}
