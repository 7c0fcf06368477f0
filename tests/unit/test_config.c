/*
 * test_config.c: unit tests of the config loader (node/config.c).
 *
 * Each test writes config files into a fresh temporary folder, loads one and
 * checks the keys handed to the setter, or the error message: every error
 * must name the file at fault and, where there is one, the key or variable.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "config.h"

#define MAX_KEYS 64

struct fixture {
	char dir[64];
	int nkeys;
	char keys[MAX_KEYS][64];
	char values[MAX_KEYS][256];
	char err[512];
	char files[16][128];
	int nfiles;
};

static void collect(void *ud, const char *key, const char *value)
{
	struct fixture *fx = ud;
	assert_true(fx->nkeys < MAX_KEYS);
	snprintf(fx->keys[fx->nkeys], sizeof fx->keys[0], "%s", key);
	snprintf(fx->values[fx->nkeys], sizeof fx->values[0], "%s", value);
	fx->nkeys++;
}

static const char *value_of(struct fixture *fx, const char *key)
{
	for (int i = 0; i < fx->nkeys; i++)
		if (strcmp(fx->keys[i], key) == 0)
			return fx->values[i];
	return NULL;
}

/* Writes dir/name and returns its full path (valid until teardown). */
static const char *write_file(struct fixture *fx, const char *name,
                              const char *text)
{
	char full[sizeof fx->files[0]];
	snprintf(full, sizeof full, "%s/%s", fx->dir, name);
	char *path = memcpy(fx->files[fx->nfiles++], full, sizeof full);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
	return path;
}

static int load(struct fixture *fx, const char *path)
{
	fx->nkeys = 0;
	fx->err[0] = '\0';
	return config_load(path, collect, fx, fx->err, sizeof fx->err);
}

/* Loading must fail with a message containing every given fragment. */
static void expect_failure(struct fixture *fx, const char *path, ...)
{
	assert_int_equal(load(fx, path), -1);
	assert_int_equal(fx->nkeys, 0);
	va_list ap;
	va_start(ap, path);
	for (const char *part; (part = va_arg(ap, const char *)) != NULL;)
		if (strstr(fx->err, part) == NULL)
			fail_msg("error \"%s\" does not mention \"%s\"", fx->err, part);
	va_end(ap);
}

static int setup(void **state)
{
	struct fixture *fx = calloc(1, sizeof *fx);
	snprintf(fx->dir, sizeof fx->dir, "/tmp/skynode_config_XXXXXX");
	assert_non_null(mkdtemp(fx->dir));
	*state = fx;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *fx = *state;
	for (int i = 0; i < fx->nfiles; i++)
		unlink(fx->files[i]);
	rmdir(fx->dir);
	free(fx);
	return 0;
}

static void test_values_become_text(void **state)
{
	struct fixture *fx = *state;
	const char *path = write_file(fx, "node.conf",
		"-- a comment\n"
		"root = \"./\"\n"
		"thread = 8\n"
		"harbor = 1.0\n"
		"coord_db = \"3\"\n"
		"ratio = 0.5\n"
		"profile = false\n"
		"coord_candidate = true\n"
		"start = \"main\"\n"
		"luaservice = root .. \"service/?.lua\"\n"
		"big = 2^53\n"
		"missing_is_nil = undefined_global == nil\n"
		"shout = (\"abc\"):upper()\n"
		"dropped = 1\n"
		"dropped = nil\n");
	assert_int_equal(load(fx, path), 0);
	assert_int_equal(fx->nkeys, 12);
	assert_string_equal(value_of(fx, "root"), "./");
	assert_string_equal(value_of(fx, "thread"), "8");
	assert_string_equal(value_of(fx, "harbor"), "1");
	assert_string_equal(value_of(fx, "coord_db"), "3");
	assert_string_equal(value_of(fx, "ratio"), "0.5");
	assert_string_equal(value_of(fx, "profile"), "false");
	assert_string_equal(value_of(fx, "coord_candidate"), "true");
	assert_string_equal(value_of(fx, "start"), "main");
	assert_string_equal(value_of(fx, "luaservice"), "./service/?.lua");
	assert_string_equal(value_of(fx, "big"), "9.007199254741e+15");
	assert_string_equal(value_of(fx, "missing_is_nil"), "true");
	assert_string_equal(value_of(fx, "shout"), "ABC");
	assert_null(value_of(fx, "dropped"));
	assert_null(value_of(fx, "include"));
}

static void test_environment_variables(void **state)
{
	struct fixture *fx = *state;
	setenv("SKYNODE_TEST_ROOT", "/opt/node", 1);
	setenv("SKYNODE_TEST_THREADS", "6", 1);
	const char *path = write_file(fx, "env.conf",
		"root = \"$SKYNODE_TEST_ROOT/\"\n"
		"thread = $SKYNODE_TEST_THREADS\n");
	assert_int_equal(load(fx, path), 0);
	assert_string_equal(value_of(fx, "root"), "/opt/node/");
	assert_string_equal(value_of(fx, "thread"), "6");

	unsetenv("SKYNODE_TEST_UNDEFINED");
	path = write_file(fx, "undefined.conf",
		"a = 1\n"
		"b = \"$SKYNODE_TEST_UNDEFINED\"\n");
	expect_failure(fx, path, "undefined.conf:2:", "$SKYNODE_TEST_UNDEFINED",
	               "not defined", NULL);
}

static void test_dollar_without_name_stays(void **state)
{
	struct fixture *fx = *state;
	const char *path = write_file(fx, "dollar.conf",
		"price = \"cost: $ and $-\"\n"
		"tail = \"$\"");
	assert_int_equal(load(fx, path), 0);
	assert_string_equal(value_of(fx, "price"), "cost: $ and $-");
	assert_string_equal(value_of(fx, "tail"), "$");
}

static void test_include(void **state)
{
	struct fixture *fx = *state;
	write_file(fx, "common.conf",
		"root = \"/srv/\"\n"
		"thread = 2\n"
		"start = \"common\"\n");
	const char *path = write_file(fx, "main.conf",
		"include \"common.conf\"\n"
		"start = \"main\"\n"
		"lua_path = root .. \"lualib/?.lua\"\n");
	/* From elsewhere: found next to main.conf. */
	assert_int_equal(load(fx, path), 0);
	assert_string_equal(value_of(fx, "thread"), "2");
	assert_string_equal(value_of(fx, "start"), "main");
	assert_string_equal(value_of(fx, "lua_path"), "/srv/lualib/?.lua");
	assert_int_equal(fx->nkeys, 4);

	/* From the config's folder: relative to the current directory. */
	char cwd[512];
	assert_non_null(getcwd(cwd, sizeof cwd));
	assert_int_equal(chdir(fx->dir), 0);
	int rc = load(fx, "main.conf");
	assert_int_equal(chdir(cwd), 0);
	assert_int_equal(rc, 0);
	assert_string_equal(value_of(fx, "lua_path"), "/srv/lualib/?.lua");
}

static void test_errors_in_included_file(void **state)
{
	struct fixture *fx = *state;
	write_file(fx, "bad_inner.conf", "x = 1\nharbor = \"two\"\n");
	const char *path = write_file(fx, "outer.conf", "include \"bad_inner.conf\"\n");
	expect_failure(fx, path, "bad_inner.conf:2:", "harbor", "integer",
	               "\"two\"", NULL);

	path = write_file(fx, "lost.conf", "a = 1\ninclude \"nowhere.conf\"\n");
	expect_failure(fx, path, "lost.conf:2:", "nowhere.conf", NULL);

	path = write_file(fx, "loop.conf", "include \"loop.conf\"\n");
	expect_failure(fx, path, "loop.conf:1:", "nested", NULL);
}

static void test_missing_file(void **state)
{
	struct fixture *fx = *state;
	char path[128];
	snprintf(path, sizeof path, "%s/absent.conf", fx->dir);
	expect_failure(fx, path, "absent.conf", "No such file", NULL);
	expect_failure(fx, fx->dir, fx->dir, "not a regular file", NULL);
}

static void test_syntax_error(void **state)
{
	struct fixture *fx = *state;
	const char *path = write_file(fx, "syntax.conf",
		"thread = 4\n"
		"start = = \"x\"\n");
	expect_failure(fx, path, "syntax.conf:2:", NULL);
}

static void test_wrong_types(void **state)
{
	struct fixture *fx = *state;
	static const struct {
		const char *text, *key, *want;
	} cases[] = {
		{"thread = \"many\"\n", "thread", "integer"},
		{"thread = 1.5\n", "thread", "integer"},
		{"coord_lease_ms = true\n", "coord_lease_ms", "integer"},
		{"profile = 1\n", "profile", "boolean"},
		{"coord_candidate = \"yes\"\n", "coord_candidate", "boolean"},
		{"start = 5\n", "start", "string"},
		{"coord_redis = {}\n", "coord_redis", "string"},
		{"servers = { \"a\", \"b\" }\n", "servers", "table"},
		{"hook = function() end\n", "hook", "function"},
		{"_ENV[1] = 2\n", "names", "number"},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		char name[32], text[128];
		snprintf(name, sizeof name, "type%zu.conf", i);
		snprintf(text, sizeof text, "ok = 1\n%s", cases[i].text);
		const char *path = write_file(fx, name, text);
		char where[40];
		snprintf(where, sizeof where, "%s:2:", name);
		expect_failure(fx, path, where, cases[i].key, cases[i].want, NULL);
	}
}

static void test_runtime_error_names_file(void **state)
{
	struct fixture *fx = *state;
	const char *path = write_file(fx, "runtime.conf",
		"a = 1\n"
		"b = nothing .. \"x\"\n");
	expect_failure(fx, path, "runtime.conf:2:", "nothing", NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_values_become_text, setup, teardown),
		cmocka_unit_test_setup_teardown(test_environment_variables, setup, teardown),
		cmocka_unit_test_setup_teardown(test_dollar_without_name_stays, setup, teardown),
		cmocka_unit_test_setup_teardown(test_include, setup, teardown),
		cmocka_unit_test_setup_teardown(test_errors_in_included_file, setup, teardown),
		cmocka_unit_test_setup_teardown(test_missing_file, setup, teardown),
		cmocka_unit_test_setup_teardown(test_syntax_error, setup, teardown),
		cmocka_unit_test_setup_teardown(test_wrong_types, setup, teardown),
		cmocka_unit_test_setup_teardown(test_runtime_error_names_file, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
