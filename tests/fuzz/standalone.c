/* SPDX-License-Identifier: GPL-2.0-or-later */
/* main() for the replay builds of the fuzz targets (any compiler, no
 * libFuzzer): feeds every file named on the command line, or every file of
 * each directory named, to LLVMFuzzerTestOneInput.  Without arguments it
 * replays $FUZZ_CORPUS/<name>, where the program is called replay_<name>:
 * that is how `make check` runs it.  An empty corpus is an error, so that a
 * missing directory is not mistaken for a pass. */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "tests/fuzz/fuzz.h"

/* Largest input replayed; libFuzzer's default -max_len is far below. */
#define REPLAY_MAX (1u << 20)

static unsigned long n_run;

static int run_file(const char *path)
{
	uint8_t *buf;
	size_t n;
	FILE *f = fopen(path, "rb");

	if (!f) {
		fprintf(stderr, "%s: %s\n", path, strerror(errno));
		return -1;
	}
	buf = malloc(REPLAY_MAX);
	if (!buf) {
		fclose(f);
		fprintf(stderr, "out of memory\n");
		return -1;
	}
	n = fread(buf, 1, REPLAY_MAX, f);
	fclose(f);
	/* an exactly sized copy, as libFuzzer passes it */
	{
		uint8_t *in = fz_dup(buf, n);

		free(buf);
		LLVMFuzzerTestOneInput(in, n);
		free(in);
	}
	n_run++;
	return 0;
}

static int run_path(const char *path)
{
	struct dirent *de;
	struct stat st;
	char sub[4096];
	DIR *d;
	int rc = 0;

	if (stat(path, &st) < 0) {
		fprintf(stderr, "%s: %s\n", path, strerror(errno));
		return -1;
	}
	if (!S_ISDIR(st.st_mode))
		return run_file(path);
	d = opendir(path);
	if (!d) {
		fprintf(stderr, "%s: %s\n", path, strerror(errno));
		return -1;
	}
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(sub, sizeof(sub), "%s/%s", path, de->d_name);
		if (stat(sub, &st) == 0 && S_ISREG(st.st_mode) && run_file(sub) < 0)
			rc = -1;
	}
	closedir(d);
	return rc;
}

int main(int argc, char **argv)
{
	const char *base, *corpus;
	char dir[4096];
	int i, rc = 0;

	if (argc > 1) {
		for (i = 1; i < argc; i++)
			if (run_path(argv[i]) < 0)
				rc = 1;
	} else {
		base = strrchr(argv[0], '/');
		base = base ? base + 1 : argv[0];
		if (strncmp(base, "replay_", 7) != 0) {
			fprintf(stderr, "usage: %s FILE|DIR...\n", argv[0]);
			return 2;
		}
		corpus = getenv("FUZZ_CORPUS");
		if (!corpus || !*corpus)
			corpus = "tests/fuzz/corpus";
		snprintf(dir, sizeof(dir), "%s/%s", corpus, base + 7);
		if (run_path(dir) < 0)
			rc = 1;
	}
	if (!n_run) {
		fprintf(stderr, "%s: no input replayed\n", argv[0]);
		return 1;
	}
	printf("%s: %lu inputs replayed\n", argv[0], n_run);
	return rc;
}
