/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Unit tests for daemon/epoch: the persistent boot epoch.  Every test works in
 * its own mkdtemp directory under /tmp and checks the exact result, the exact
 * file contents, that no temporary is left and that no descriptor leaks. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "daemon/epoch.h"

#define SENTINEL 0x5a5a5a5a5a5a5a5aull

struct fx {
	char dir[64];
	char path[128];
	char tmp[128];
};

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	if (!f)
		return -1;
	snprintf(f->dir, sizeof(f->dir), "/tmp/test_epoch.XXXXXX");
	if (!mkdtemp(f->dir)) {
		free(f);
		return -1;
	}
	snprintf(f->path, sizeof(f->path), "%s/epoch", f->dir);
	snprintf(f->tmp, sizeof(f->tmp), "%s/epoch.tmp", f->dir);
	*state = f;
	return 0;
}

static int rm_entry(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	return flag == FTW_DP ? rmdir(p) : unlink(p);
}

/* A test may leave a read-only directory; a non-root user must reopen it. */
static int open_dir(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	return flag == FTW_D ? chmod(p, 0700) : 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	int rc;

	rc = nftw(f->dir, open_dir, 16, FTW_PHYS);
	if (rc == 0)
		rc = nftw(f->dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	free(f);
	return rc;
}

/* Open descriptors below 1024, without /proc (it is absent in a chroot). */
static int count_fds(void)
{
	int n = 0;

	for (int fd = 0; fd < 1024; fd++)
		if (fcntl(fd, F_GETFD) >= 0)
			n++;
	return n;
}

static int count_entries(const char *dir)
{
	struct dirent *de;
	DIR *d = opendir(dir);
	int n = 0;

	assert_non_null(d);
	while ((de = readdir(d)))
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
			n++;
	closedir(d);
	return n;
}

static void put_file(const char *path, const char *text, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, len), (ssize_t)len);
	assert_int_equal(close(fd), 0);
}

static void assert_file(const char *path, const char *text, size_t len)
{
	char buf[256];
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	assert_true(fd >= 0);
	n = read(fd, buf, sizeof(buf));
	close(fd);
	assert_int_equal(n, (ssize_t)len);
	assert_memory_equal(buf, text, len);
}

static void assert_absent(const char *path)
{
	struct stat st;

	assert_int_equal(lstat(path, &st), -1);
	assert_int_equal(errno, ENOENT);
}

/* epoch_next with the descriptor count checked around it. */
static int next(const char *path, uint64_t now, uint64_t *out, char *err, size_t errlen)
{
	int before = count_fds(), rc;

	rc = epoch_next(path, now, out, err, errlen);
	assert_int_equal(count_fds(), before);
	return rc;
}

/* A success: exact value, exact file, mode 0644, no temporary. */
static void expect_ok(struct fx *f, uint64_t now, uint64_t want)
{
	char err[256], text[32];
	uint64_t out = SENTINEL;
	struct stat st;
	int len;

	assert_int_equal(next(f->path, now, &out, err, sizeof(err)), 0);
	assert_string_equal(err, "");
	assert_true(out == want);
	len = snprintf(text, sizeof(text), "%llu\n", (unsigned long long)want);
	assert_file(f->path, text, (size_t)len);
	assert_int_equal(stat(f->path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0644);
	assert_absent(f->tmp);
	assert_int_equal(count_entries(f->dir), 1);
}

/* A failure: -1, *out untouched, err exactly as given. */
static void expect_err(const char *path, uint64_t now, const char *want)
{
	char err[512];
	uint64_t out = SENTINEL;

	assert_int_equal(next(path, now, &out, err, sizeof(err)), -1);
	assert_true(out == SENTINEL);
	assert_string_equal(err, want);
}

static void test_first_start(void **state)
{
	struct fx *f = *state;
	mode_t old = umask(077);	/* the mode must not depend on it */

	expect_ok(f, 1700000000123456789ull, 1700000000123456789ull);
	umask(old);
}

static void test_clock_went_back(void **state)
{
	struct fx *f = *state;
	static const char text[] = "1700000000000000000\n";

	put_file(f->path, text, sizeof(text) - 1);
	expect_ok(f, 1600000000000000000ull, 1700000000000000001ull);
}

static void test_clock_ahead(void **state)
{
	struct fx *f = *state;

	put_file(f->path, "1000\n", 5);
	expect_ok(f, 5000, 5000);
}

static void test_same_ns(void **state)
{
	struct fx *f = *state;

	put_file(f->path, "5000\n", 5);
	expect_ok(f, 5000, 5001);
}

static void test_zero(void **state)
{
	struct fx *f = *state;

	put_file(f->path, "0\n", 2);
	expect_ok(f, 0, 1);
	/* Leading zeros are still a plain decimal number. */
	put_file(f->path, "0007\n", 5);
	expect_ok(f, 3, 8);
}

static void test_sequence(void **state)
{
	struct fx *f = *state;

	expect_ok(f, 42, 42);
	expect_ok(f, 42, 43);
	expect_ok(f, 42, 44);
	expect_ok(f, 10, 45);
	expect_ok(f, 100, 100);
}

static void test_stale_tmp_replaced(void **state)
{
	struct fx *f = *state;

	/* A crash between create and rename leaves a temporary behind. */
	put_file(f->tmp, "garbage", 7);
	put_file(f->path, "77\n", 3);
	expect_ok(f, 1, 78);
}

struct corrupt {
	const char *text;
	size_t len;
	const char *reason;
};

static const struct corrupt corrupt[] = {
	{ "", 0, "empty file, expected a decimal epoch" },
	{ "\n", 1, "not a decimal epoch (byte 0x0a at offset 0)" },
	{ "abc\n", 4, "not a decimal epoch (byte 0x61 at offset 0)" },
	{ "-1\n", 3, "not a decimal epoch (byte 0x2d at offset 0)" },
	{ "+1\n", 3, "not a decimal epoch (byte 0x2b at offset 0)" },
	{ " 12\n", 4, "not a decimal epoch (byte 0x20 at offset 0)" },
	{ "12", 2, "epoch is not terminated by a newline" },
	{ "12a\n", 4, "trailing junk after the epoch at offset 2" },
	{ "12 \n", 4, "trailing junk after the epoch at offset 2" },
	{ "0x10\n", 5, "trailing junk after the epoch at offset 1" },
	{ "12\n\n", 4, "trailing junk after the epoch at offset 2" },
	{ "12\njunk", 7, "trailing junk after the epoch at offset 2" },
	{ "12\r\n", 4, "trailing junk after the epoch at offset 2" },
	{ "12\0\n", 4, "trailing junk after the epoch at offset 2" },
	{ "18446744073709551616\n", 21, "epoch does not fit in 64 bits" },
	{ "99999999999999999999\n", 21, "epoch does not fit in 64 bits" },
	{ "123456789012345678901\n", 22, "longer than 21 bytes, not an epoch" },
	{ "00000000000000000000001\n", 24, "longer than 21 bytes, not an epoch" },
};

static void test_corrupt(void **state)
{
	struct fx *f = *state;
	char want[512];

	for (size_t i = 0; i < sizeof(corrupt) / sizeof(corrupt[0]); i++) {
		put_file(f->path, corrupt[i].text, corrupt[i].len);
		snprintf(want, sizeof(want), "%s: %s", f->path, corrupt[i].reason);
		expect_err(f->path, 1, want);
		/* Left as it was for the operator. */
		assert_file(f->path, corrupt[i].text, corrupt[i].len);
		assert_absent(f->tmp);
		assert_int_equal(count_entries(f->dir), 1);
	}
}

static void test_uint64_max(void **state)
{
	struct fx *f = *state;
	static const char max[] = "18446744073709551615\n";
	char want[512];

	put_file(f->path, "18446744073709551614\n", 21);
	expect_ok(f, 0, UINT64_MAX);
	snprintf(want, sizeof(want), "%s: epoch is 18446744073709551615, it cannot grow any more",
		 f->path);
	expect_err(f->path, UINT64_MAX, want);
	assert_file(f->path, max, sizeof(max) - 1);
	assert_absent(f->tmp);
	/* now_ns may be the maximum itself on a first start. */
	assert_int_equal(unlink(f->path), 0);
	expect_ok(f, UINT64_MAX, UINT64_MAX);
}

static void test_missing_dir(void **state)
{
	struct fx *f = *state;
	char path[256], want[512], sub[192];

	snprintf(sub, sizeof(sub), "%s/nodir", f->dir);
	snprintf(path, sizeof(path), "%s/epoch", sub);
	snprintf(want, sizeof(want), "cannot write %s/epoch.tmp: No such file or directory", sub);
	expect_err(path, 1, want);
	assert_absent(sub);
	assert_int_equal(count_entries(f->dir), 0);
}

static void test_path_is_dir(void **state)
{
	struct fx *f = *state;
	char want[512];
	struct stat st;

	assert_int_equal(mkdir(f->path, 0755), 0);
	snprintf(want, sizeof(want), "%s: not a regular file", f->path);
	expect_err(f->path, 1, want);
	assert_int_equal(stat(f->path, &st), 0);
	assert_true(S_ISDIR(st.st_mode));
	assert_absent(f->tmp);
	assert_int_equal(count_entries(f->dir), 1);
}

static void test_tmp_is_dir(void **state)
{
	struct fx *f = *state;
	char want[512];
	struct stat st;

	/* Not ours: must be neither written through nor removed. */
	assert_int_equal(mkdir(f->tmp, 0755), 0);
	put_file(f->path, "9\n", 2);
	snprintf(want, sizeof(want), "cannot write %s: Is a directory", f->tmp);
	expect_err(f->path, 1, want);
	assert_int_equal(stat(f->tmp, &st), 0);
	assert_true(S_ISDIR(st.st_mode));
	assert_file(f->path, "9\n", 2);
	assert_int_equal(count_entries(f->dir), 2);
}

static void test_tmp_is_symlink(void **state)
{
	struct fx *f = *state;
	char victim[192], want[512];
	struct stat st;

	snprintf(victim, sizeof(victim), "%s/victim", f->dir);
	put_file(victim, "keep", 4);
	assert_int_equal(symlink(victim, f->tmp), 0);
	snprintf(want, sizeof(want), "cannot write %s: Too many levels of symbolic links",
		 f->tmp);
	expect_err(f->path, 1, want);
	assert_file(victim, "keep", 4);
	assert_int_equal(lstat(f->tmp, &st), 0);
	assert_true(S_ISLNK(st.st_mode));
	assert_absent(f->path);
}

static void test_relative_path(void **state)
{
	struct fx *f = *state;
	char cwd[PATH_MAX], err[256];
	uint64_t out = SENTINEL;

	assert_non_null(getcwd(cwd, sizeof(cwd)));
	assert_int_equal(chdir(f->dir), 0);
	assert_int_equal(next("epoch", 7, &out, err, sizeof(err)), 0);
	assert_true(out == 7);
	assert_int_equal(mkdir("sub", 0755), 0);
	assert_int_equal(next("./sub/epoch", 9, &out, err, sizeof(err)), 0);
	assert_true(out == 9);
	assert_int_equal(next("sub/epoch", 9, &out, err, sizeof(err)), 0);
	assert_true(out == 10);
	assert_int_equal(chdir(cwd), 0);
	assert_file(f->path, "7\n", 2);
	assert_absent(f->tmp);
	snprintf(cwd, sizeof(cwd), "%s/sub/epoch", f->dir);
	assert_file(cwd, "10\n", 3);
	snprintf(cwd, sizeof(cwd), "%s/sub", f->dir);
	assert_int_equal(count_entries(cwd), 1);
}

/* Runs epoch_next in a child that first calls prep(arg): for what must not
 * leak into the test process (a dropped uid, an rlimit, a chroot).  The child
 * reports "rc out fd-delta err" through a pipe into msg.  A prep the test
 * user may not do (chroot without root) skips the test. */
static void in_child(int (*prep)(const void *), const void *arg, const char *path,
		     uint64_t now, char *msg, size_t msglen)
{
	int p[2], status;
	ssize_t n;
	pid_t pid;

	assert_int_equal(pipe(p), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		char err[256], rep[512];
		uint64_t out = SENTINEL;
		int rc, fds;

		close(p[0]);
		if (prep(arg) < 0)
			_exit(4);
		fds = count_fds();
		rc = epoch_next(path, now, &out, err, sizeof(err));
		fds = count_fds() - fds;
		snprintf(rep, sizeof(rep), "%d %llu %d %s", rc, (unsigned long long)out, fds,
			 err);
		_exit(write(p[1], rep, strlen(rep)) < 0 ? 3 : 0);
	}
	close(p[1]);
	n = read(p[0], msg, msglen - 1);
	close(p[0]);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	if (WEXITSTATUS(status) == 4)
		skip();
	assert_int_equal(WEXITSTATUS(status), 0);
	assert_true(n > 0);
	msg[n] = '\0';
}

/* Only root needs to drop: a directory mode stops any other user. */
static int prep_nobody(const void *arg)
{
	(void)arg;
	if (geteuid() != 0)
		return 0;
	return setgid(65534) < 0 || setuid(65534) < 0 ? -1 : 0;
}

/* Root ignores directory modes, so the unwritable directory is tried as
 * nobody.  The existing file is readable, only the temporary fails. */
static void test_unwritable_dir(void **state)
{
	struct fx *f = *state;
	char ro[128], path[192], want[512], msg[512];

	snprintf(ro, sizeof(ro), "%s/ro", f->dir);
	snprintf(path, sizeof(path), "%s/epoch", ro);
	assert_int_equal(chmod(f->dir, 0711), 0);
	assert_int_equal(mkdir(ro, 0755), 0);
	put_file(path, "5\n", 2);
	assert_int_equal(chmod(ro, 0555), 0);
	in_child(prep_nobody, NULL, path, 1, msg, sizeof(msg));
	snprintf(want, sizeof(want), "-1 %llu 0 cannot write %s.tmp: Permission denied",
		 SENTINEL, path);
	assert_string_equal(msg, want);
	assert_file(path, "5\n", 2);
	assert_int_equal(count_entries(ro), 1);
}

static int prep_fsize0(const void *arg)
{
	struct rlimit zero = { 0, 0 };

	(void)arg;
	signal(SIGXFSZ, SIG_IGN);
	return setrlimit(RLIMIT_FSIZE, &zero);
}

/* A write that fails once the temporary exists: RLIMIT_FSIZE 0 makes
 * write() fail with EFBIG.  The temporary must go, the file stays. */
static void test_write_fails(void **state)
{
	struct fx *f = *state;
	char want[512], msg[512];

	put_file(f->path, "11\n", 3);
	in_child(prep_fsize0, NULL, f->path, 1, msg, sizeof(msg));
	snprintf(want, sizeof(want), "-1 %llu 0 cannot write %s: File too large", SENTINEL,
		 f->tmp);
	assert_string_equal(msg, want);
	assert_file(f->path, "11\n", 3);
	assert_absent(f->tmp);
	assert_int_equal(count_entries(f->dir), 1);
}

static int prep_chroot(const void *arg)
{
	return chroot(arg) < 0 || chdir("/") < 0 ? -1 : 0;
}

/* "/epoch": the directory to fsync is "/" itself (tried in a chroot). */
static void test_root_dir(void **state)
{
	struct fx *f = *state;
	char msg[512];

	in_child(prep_chroot, f->dir, "/epoch", 123, msg, sizeof(msg));
	assert_string_equal(msg, "0 123 0 ");
	assert_file(f->path, "123\n", 4);
	assert_absent(f->tmp);
}

static void test_err_buffer(void **state)
{
	struct fx *f = *state;
	uint64_t out = SENTINEL;
	char err[8];

	put_file(f->path, "x\n", 2);
	assert_int_equal(next(f->path, 1, &out, NULL, 0), -1);
	assert_int_equal(next(f->path, 1, &out, err, 0), -1);
	memset(err, 'Z', sizeof(err));
	assert_int_equal(next(f->path, 1, &out, err, sizeof(err)), -1);
	assert_memory_equal(err, f->path, 7);
	assert_int_equal(err[7], '\0');
	assert_true(out == SENTINEL);
	/* Success clears err. */
	assert_int_equal(unlink(f->path), 0);
	memset(err, 'Z', sizeof(err));
	assert_int_equal(next(f->path, 3, &out, err, sizeof(err)), 0);
	assert_int_equal(err[0], '\0');
	assert_true(out == 3);
}

static void test_bad_path(void **state)
{
	struct fx *f = *state;
	char path[PATH_MAX + 16], slash[128], want[512];

	expect_err(NULL, 1, "epoch file path '(null)' is not a file name");
	expect_err("", 1, "epoch file path '' is not a file name");
	snprintf(slash, sizeof(slash), "%s/", f->dir);
	snprintf(want, sizeof(want), "epoch file path '%s' is not a file name", slash);
	expect_err(slash, 1, want);
	/* path fits PATH_MAX but path + ".tmp" does not. */
	memset(path, 'a', PATH_MAX - 2);
	path[0] = '/';
	path[PATH_MAX - 2] = '\0';
	snprintf(want, sizeof(want), "epoch file path too long: %.64s...", path);
	expect_err(path, 1, want);
	assert_int_equal(count_entries(f->dir), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_first_start, setup, teardown),
		cmocka_unit_test_setup_teardown(test_clock_went_back, setup, teardown),
		cmocka_unit_test_setup_teardown(test_clock_ahead, setup, teardown),
		cmocka_unit_test_setup_teardown(test_same_ns, setup, teardown),
		cmocka_unit_test_setup_teardown(test_zero, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sequence, setup, teardown),
		cmocka_unit_test_setup_teardown(test_stale_tmp_replaced, setup, teardown),
		cmocka_unit_test_setup_teardown(test_corrupt, setup, teardown),
		cmocka_unit_test_setup_teardown(test_uint64_max, setup, teardown),
		cmocka_unit_test_setup_teardown(test_missing_dir, setup, teardown),
		cmocka_unit_test_setup_teardown(test_path_is_dir, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tmp_is_dir, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tmp_is_symlink, setup, teardown),
		cmocka_unit_test_setup_teardown(test_write_fails, setup, teardown),
		cmocka_unit_test_setup_teardown(test_relative_path, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unwritable_dir, setup, teardown),
		cmocka_unit_test_setup_teardown(test_root_dir, setup, teardown),
		cmocka_unit_test_setup_teardown(test_err_buffer, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_path, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
