/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The control socket's command table (common/ctlproto.h): well formed, found
 * by name, and the same list as clusterctl(8) documents.  Whether each
 * command has its daemon handler and clusterctl renderer is checked by the
 * build: both tables are generated from the list and name the functions. */
#include <ctype.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/ctlproto.h"

static void test_names(void **state)
{
	(void)state;
	assert_true(CTLPROTO__MAX > 0);
	for (int i = 0; i < CTLPROTO__MAX; i++) {
		const struct ctlproto_info *c = &ctlproto_cmds[i];

		assert_non_null(c->name);
		assert_true(c->name[0] != '\0');
		/* one word a shell and the daemon's tokenizer leave alone */
		for (const char *p = c->name; *p; p++)
			assert_true(islower((unsigned char)*p));
		assert_int_equal(ctlproto_find(c->name), i);	/* and so unique */
	}
	assert_int_equal(ctlproto_find(""), -1);
	assert_int_equal(ctlproto_find("STATUS"), -1);
	assert_int_equal(ctlproto_find("stat"), -1);
	assert_int_equal(ctlproto_find("statusx"), -1);
	assert_int_equal(ctlproto_find("status "), -1);
}

static void test_fields(void **state)
{
	int streamed = 0;

	(void)state;
	for (int i = 0; i < CTLPROTO__MAX; i++) {
		const struct ctlproto_info *c = &ctlproto_cmds[i];

		assert_true(c->nargs <= 1);
		/* an argument has a name for the usage text, and only then */
		assert_true((c->arg != NULL) == (c->nargs == 1));
		if (c->arg) {
			assert_true(c->arg[0] != '\0');
			for (const char *p = c->arg; *p; p++)
				assert_true(isupper((unsigned char)*p));
		}
		/* clusterctl's usage column is 16 wide */
		assert_true(strlen(c->name) + (c->arg ? 1 + strlen(c->arg) : 0) < 16);
		assert_non_null(c->help);
		assert_true(c->help[0] != '\0' && !strchr(c->help, '\n'));
		/* the longest request line fits the daemon's buffer */
		assert_true(strlen(c->name) + 1 + CTLPROTO_ARG_MAX + 1 < CTLPROTO_LINE_MAX);
		streamed += c->streamed;
	}
	/* conns is the streamed one (the daemon's dump limit applies to it) */
	assert_true(ctlproto_cmds[CTLPROTO_CONNS].streamed);
	assert_int_equal(streamed, 1);
}

/* The commands clusterctl(8) documents under COMMANDS: ".TP" then
 * ".B word" or ".BI word \" arg\"". */
static void test_man_page(void **state)
{
	const char *data = getenv("CD_TEST_DATA");
	char path[4096], line[512], prev[512] = "";
	bool in = false, seen[CTLPROTO__MAX] = { false };
	int documented = 0;
	FILE *f;

	(void)state;
	if (!data)
		data = "tests/unit/data";
	snprintf(path, sizeof(path), "%s/../../../man/clusterctl.8", data);
	f = fopen(path, "r");
	if (!f) {
		print_message("no %s: skipped\n", path);
		skip();
	}
	while (fgets(line, sizeof(line), f)) {
		char word[64];
		int id;

		if (!strncmp(line, ".SH ", 4))
			in = !strncmp(line, ".SH COMMANDS", 12);
		if (in && !strncmp(prev, ".TP", 3) &&
		    ((!strncmp(line, ".B ", 3) && sscanf(line + 3, "%63s", word) == 1) ||
		     (!strncmp(line, ".BI ", 4) && sscanf(line + 4, "%63s", word) == 1))) {
			id = ctlproto_find(word);
			if (id < 0)
				fail_msg("clusterctl.8 documents '%s', not in the table", word);
			assert_false(seen[id]);
			seen[id] = true;
			documented++;
			/* ".BI drain \" node\"": an argument */
			assert_int_equal(strncmp(line, ".BI ", 4) == 0, ctlproto_cmds[id].nargs);
		}
		snprintf(prev, sizeof(prev), "%s", line);
	}
	fclose(f);
	for (int i = 0; i < CTLPROTO__MAX; i++)
		if (!seen[i])
			fail_msg("'%s' is not documented in clusterctl.8", ctlproto_cmds[i].name);
	assert_int_equal(documented, CTLPROTO__MAX);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_fields),
		cmocka_unit_test(test_man_page),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
