/* SPDX-License-Identifier: Apache-2.0 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <cmocka.h>

#include "toml.h"

static struct toml_doc *parse_ok(const char *text)
{
        struct toml_doc *d = NULL;
        _cleanup_error_ struct coco_error *err = NULL;
        int r = toml_parse(text, strlen(text), &d, &err);
        if (r < 0)
                fail_msg("parse failed: %s", err->message);
        return d;
}

static void expect_error(const char *text, const char *msg)
{
        struct toml_doc *d = NULL;
        _cleanup_error_ struct coco_error *err = NULL;
        assert_int_equal(toml_parse(text, strlen(text), &d, &err), -EINVAL);
        assert_null(d);
        if (!strstr(err->message, msg))
                fail_msg("error \"%s\" lacks \"%s\"", err->message, msg);
}

static void test_initdata_document(void **state)
{
        (void)state;
        const char *text = "# initdata\n"
                           "version = \"0.1.0\"   # trailing comment\n"
                           "algorithm = 'sha384'\r\n"
                           "\n"
                           "[data]\n"
                           "\"aa.toml\" = '''\n"
                           "[token_configs]\n"
                           "url = \"http://kbs:8080\"\n"
                           "'''\n"
                           "'cdh.toml' = \"\"\"\n"
                           "line one \\\n"
                           "    continued\\tTab \\u00e9\\U0001F600\"\"\"\n"
                           "policy.rego = \"\"\n";
        struct toml_doc *d = NULL;
        /* dotted key on the last line is an error; parse without it first */
        size_t cut = strstr(text, "policy.rego") - text;
        _cleanup_error_ struct coco_error *err = NULL;
        assert_int_equal(toml_parse(text, cut, &d, &err), 0);
        assert_string_equal(toml_get(d, "", "version")->value, "0.1.0");
        assert_string_equal(toml_get(d, "", "algorithm")->value, "sha384");
        assert_string_equal(toml_get(d, "data", "aa.toml")->value,
                            "[token_configs]\nurl = \"http://kbs:8080\"\n");
        assert_string_equal(toml_get(d, "data", "cdh.toml")->value,
                            "line one continued\tTab \xc3\xa9\xf0\x9f\x98\x80");
        assert_int_equal(toml_get(d, "data", "aa.toml")->line, 6);
        assert_null(toml_get(d, "", "aa.toml"));
        toml_doc_free(d);
        expect_error(text, "line 13, column 7: dotted keys");
}

static void test_quotes_in_multiline(void **state)
{
        (void)state;
        struct toml_doc *d = parse_ok("a = \"\"\"x \"\" y\"\"\"\"\"\nb = '''it's''''\n");
        assert_string_equal(toml_get(d, "", "a")->value, "x \"\" y\"\"");
        assert_string_equal(toml_get(d, "", "b")->value, "it's'");
        toml_doc_free(d);
        d = parse_ok("");
        assert_int_equal(d->n_entries, 0);
        toml_doc_free(d);
}

static void test_rejections(void **state)
{
        (void)state;
        expect_error("version = 1\n", "line 1, column 11: values must be strings");
        expect_error("a = [\"x\"]\n", "arrays are not supported");
        expect_error("a = {b = \"c\"}\n", "inline tables");
        expect_error("[[data]]\n", "arrays of tables");
        expect_error("a.b = \"c\"\n", "dotted keys");
        expect_error("a = \"x\"\na = \"y\"\n", "line 2, column 1: key defined twice");
        expect_error("[data]\n[data]\n", "table defined twice");
        expect_error("a = \"open\n", "newline inside a single-line string");
        expect_error("a = '''never closed\n", "string is not closed");
        expect_error("a = \"\\q\"\n", "unknown escape");
        expect_error("a = \"\\ud800\"\n", "not a Unicode scalar value");
        expect_error("a = \"x\" b = \"y\"\n", "expected the end of the line");
        expect_error("a \"x\"\n", "expected '='");
        expect_error("a =\n", "missing value");
        expect_error("a = \"\x01\"\n", "control character");
        expect_error("a = \"\xff\"\n", "line 1, column 6: invalid UTF-8");
        expect_error("[data\n", "expected ']'");
        expect_error("= \"x\"\n", "expected a key");
        expect_error("\"a\\u0000b\" = \"x\"\n", "key contains a NUL");
}

static void test_nul_byte(void **state)
{
        (void)state;
        struct toml_doc *d = NULL;
        _cleanup_error_ struct coco_error *err = NULL;
        assert_int_equal(toml_parse("a = \"x\"\n\0", 9, &d, &err), -EINVAL);
        assert_non_null(strstr(err->message, "line 2, column 1: NUL byte"));
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_initdata_document),
                cmocka_unit_test(test_quotes_in_multiline),
                cmocka_unit_test(test_rejections),
                cmocka_unit_test(test_nul_byte),
        };
        return cmocka_run_group_tests_name("toml", tests, NULL, NULL);
}
