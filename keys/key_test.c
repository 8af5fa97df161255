/*
 * Unit tests for the key loader (vsf_key.c).
 *
 * Files are made in a fresh temporary directory.  The "another user" cases
 * chown files and symlinks to nobody, and the "unreadable" case drops to
 * nobody in a child process, so those need root: run as another user they
 * fail loudly rather than pass without checking anything.
 */
#define _GNU_SOURCE
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"
#include "vsf_key.h"

#define NOBODY 65534
#define UUID_LC "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0"
#define UUID_UC "0F1E2D3C-4B5A-6978-8796-A5B4C3D2E1F0"

static char tmpdir[256];

/* tmpdir + "/" + @name, in one of 16 rotating static buffers: enough for
 * every path a single test holds at once (tests run one at a time). */
static const char *at(const char *name)
{
	static char bufs[16][512];
	static int next;
	char *b = bufs[next++ % 16];

	(void)snprintf(b, sizeof(bufs[0]), "%s/%s", tmpdir, name);
	return b;
}

static void fill(uint8_t *buf, size_t len)
{
	for (size_t i = 0; i < len; i++)
		buf[i] = (uint8_t)(i * 7 + 3);
}

/* Create @name holding @len pattern bytes, with exactly @mode. */
static const char *make_key(const char *name, size_t len, mode_t mode)
{
	static uint8_t buf[8192];
	const char *p = at(name);
	int fd;

	fill(buf, len);
	(void)unlink(p);
	fd = open(p, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0 || write(fd, buf, len) != (ssize_t)len ||
	    fchmod(fd, mode) < 0) {
		perror(p);
		abort();
	}
	(void)close(fd);
	return p;
}

static int is_root(void)
{
	if (geteuid() == 0)
		return 1;
	fprintf(stderr, "this test needs root (chown to nobody)\n");
	return 0;
}

static int has(const char *err, const char *what)
{
	if (strstr(err, what))
		return 1;
	fprintf(stderr, "message \"%s\" lacks \"%s\"\n", err, what);
	return 0;
}

static int load(const char *path, struct vsf_key *key, char *err)
{
	return vsf_key_load(path, key, err, 512);
}

TEST(accepts_private_key_and_reads_every_byte)
{
	struct vsf_key key;
	uint8_t want[64];
	char err[512];
	const char *p = make_key("k600", 64, 0600);

	fill(want, sizeof(want));
	CHECK_ERR(load(p, &key, err), 0);
	CHECK_ERR(key.len, 64);
	CHECK_MEM(key.bytes, want, 64);
	CHECK_STR(key.path, p);
	vsf_key_done(&key);
	CHECK_ERR(key.len, 0);
}

TEST(accepts_read_only_key_and_exactly_min_length)
{
	struct vsf_key key;
	char err[512];

	CHECK_ERR(load(make_key("k400", 32, 0400), &key, err), 0);
	CHECK_ERR(load(make_key("k700", 32, 0700), &key, err), 0);
	CHECK_ERR(load(make_key("k16", VSF_KEY_MIN, 0600), &key, err), 0);
	CHECK_ERR(key.len, VSF_KEY_MIN);
}

TEST(uses_only_first_4096_bytes_like_stock)
{
	struct vsf_key key;
	static uint8_t want[5000];
	char err[512];

	fill(want, sizeof(want));
	CHECK_ERR(load(make_key("kbig", 5000, 0600), &key, err), 0);
	CHECK_ERR(key.len, VSF_KEY_MAX);
	CHECK_MEM(key.bytes, want, VSF_KEY_MAX);
}

TEST(refuses_group_readable_key_with_chmod_fix)
{
	struct vsf_key key;
	char err[512], fix[600];
	const char *p = make_key("k640", 32, 0640);

	CHECK_ERR(load(p, &key, err), -EPERM);
	(void)snprintf(fix, sizeof(fix), "chmod 600 '%s'", p);
	CHECK(has(err, fix));
	CHECK(has(err, "0640"));
}

TEST(refuses_key_writable_or_executable_by_others)
{
	struct vsf_key key;
	char err[512];

	CHECK_ERR(load(make_key("k602", 32, 0602), &key, err), -EPERM);
	CHECK_ERR(load(make_key("k601", 32, 0601), &key, err), -EPERM);
	CHECK_ERR(load(make_key("k620", 32, 0620), &key, err), -EPERM);
	CHECK_ERR(load(make_key("k604", 32, 0604), &key, err), -EPERM);
}

TEST(refuses_empty_key_and_says_how_to_make_one)
{
	struct vsf_key key;
	char err[512];

	CHECK_ERR(load(make_key("kempty", 0, 0600), &key, err), -ENODATA);
	CHECK(has(err, "vserial-keygen --force"));
}

TEST(refuses_short_key_and_says_how_to_make_one)
{
	struct vsf_key key;
	char err[512];

	CHECK_ERR(load(make_key("k15", VSF_KEY_MIN - 1, 0600), &key, err),
		  -ERANGE);
	CHECK(has(err, "15 bytes"));
	CHECK(has(err, "vserial-keygen"));
}

TEST(refused_load_leaves_no_key_material)
{
	struct vsf_key key;
	static const uint8_t zero[VSF_KEY_MAX];
	char err[512];

	CHECK_ERR(load(make_key("kgood", 4096, 0600), &key, err), 0);
	CHECK_ERR(load(make_key("kshort", 10, 0600), &key, err), -ERANGE);
	CHECK_ERR(key.len, 0);
	CHECK_MEM(key.bytes, zero, sizeof(zero));
}

TEST(refuses_missing_key)
{
	struct vsf_key key;
	char err[512];

	CHECK_ERR(load(at("nope"), &key, err), -ENOENT);
	CHECK(has(err, "does not exist"));
}

TEST(refuses_directory_fifo_and_device)
{
	struct vsf_key key;
	char err[512];

	CHECK(mkdir(at("adir"), 0700) == 0);
	CHECK_ERR(load(at("adir"), &key, err), -EMEDIUMTYPE);
	CHECK(has(err, "directory"));
	/* A FIFO must be refused without blocking in open(). */
	CHECK(mkfifo(at("afifo"), 0600) == 0);
	CHECK_ERR(load(at("afifo"), &key, err), -EMEDIUMTYPE);
	CHECK(has(err, "FIFO"));
	CHECK_ERR(load("/dev/null", &key, err), -EMEDIUMTYPE);
}

TEST(refuses_bad_arguments)
{
	struct vsf_key key;
	char err[512];

	CHECK_ERR(load("", &key, err), -EINVAL);
	/* A NULL path means the default; err may be omitted. */
	(void)vsf_key_load(NULL, &key, NULL, 0);
	CHECK_STR(key.path, VSF_KEY_DEFAULT_PATH);
}

TEST(refuses_key_owned_by_another_user)
{
	struct vsf_key key;
	char err[512];
	const char *p = make_key("knobody", 32, 0600);

	if (!is_root()) {
		CHECK(0);
		return;
	}
	CHECK(chown(p, NOBODY, NOBODY) == 0);
	CHECK_ERR(load(p, &key, err), -EOWNERDEAD);
	CHECK(has(err, "owned by nobody"));
	CHECK(has(err, "chown root"));
}

TEST(follows_trusted_relative_symlink_to_target)
{
	struct vsf_key key;
	char err[512];
	const char *target = make_key("ktarget", 32, 0600);

	(void)unlink(at("klink"));
	CHECK(symlink("ktarget", at("klink")) == 0);
	CHECK_ERR(load(at("klink"), &key, err), 0);
	CHECK_STR(key.path, target);
	/* A chain of two trusted links is fine too. */
	(void)unlink(at("klink2"));
	CHECK(symlink(at("klink"), at("klink2")) == 0);
	CHECK_ERR(load(at("klink2"), &key, err), 0);
	CHECK_STR(key.path, target);
}

TEST(refuses_symlink_owned_by_another_user)
{
	struct vsf_key key;
	char err[512];

	(void)make_key("ktarget2", 32, 0600);
	(void)unlink(at("kbadlink"));
	CHECK(symlink("ktarget2", at("kbadlink")) == 0);
	if (!is_root()) {
		CHECK(0);
		return;
	}
	CHECK(lchown(at("kbadlink"), NOBODY, NOBODY) == 0);
	CHECK_ERR(load(at("kbadlink"), &key, err), -ELOOP);
	CHECK(has(err, "symlink"));
	CHECK(has(err, "owned by nobody"));
	CHECK(has(err, "chown -h root"));
}

TEST(refuses_foreign_symlink_in_the_middle_of_a_chain)
{
	struct vsf_key key;
	char err[512];

	(void)make_key("ktarget4", 32, 0600);
	(void)unlink(at("kmid"));
	(void)unlink(at("kfirst"));
	CHECK(symlink("ktarget4", at("kmid")) == 0);
	CHECK(symlink(at("kmid"), at("kfirst")) == 0);
	if (!is_root()) {
		CHECK(0);
		return;
	}
	CHECK(lchown(at("kmid"), NOBODY, NOBODY) == 0);
	CHECK_ERR(load(at("kfirst"), &key, err), -ELOOP);
	CHECK_STR(key.path, at("kmid"));
}

TEST(small_error_buffer_is_truncated_not_overrun)
{
	struct vsf_key key;
	char err[9];

	memset(err, 'x', sizeof(err));
	CHECK_ERR(vsf_key_load(make_key("kshort2", 3, 0600), &key, err, 8),
		  -ERANGE);
	CHECK_ERR(strlen(err), 7);
	CHECK(err[8] == 'x');
}

TEST(refuses_trusted_symlink_to_file_of_another_user)
{
	struct vsf_key key;
	char err[512];
	const char *target = make_key("ktarget3", 32, 0600);

	if (!is_root()) {
		CHECK(0);
		return;
	}
	CHECK(chown(target, NOBODY, NOBODY) == 0);
	(void)unlink(at("klink3"));
	CHECK(symlink(target, at("klink3")) == 0);
	CHECK_ERR(load(at("klink3"), &key, err), -EOWNERDEAD);
	CHECK_STR(key.path, target);
	CHECK(has(err, target));
}

TEST(refuses_dangling_symlink_and_symlink_loop)
{
	struct vsf_key key;
	char err[512];

	(void)unlink(at("kdangle"));
	CHECK(symlink("nowhere", at("kdangle")) == 0);
	CHECK_ERR(load(at("kdangle"), &key, err), -ENOENT);
	(void)unlink(at("loopa"));
	(void)unlink(at("loopb"));
	CHECK(symlink("loopb", at("loopa")) == 0);
	CHECK(symlink("loopa", at("loopb")) == 0);
	CHECK_ERR(load(at("loopa"), &key, err), -ELOOP);
	CHECK(has(err, "too many symlinks"));
}

/* Run @path through the loader as nobody; returns the loader's result. */
static int load_as_nobody(const char *path)
{
	struct vsf_key key;
	int status;
	pid_t pid = fork();

	if (pid == 0) {
		if (setresgid(NOBODY, NOBODY, NOBODY) < 0 ||
		    setresuid(NOBODY, NOBODY, NOBODY) < 0)
			_exit(255);
		_exit(-vsf_key_load(path, &key, NULL, 0));
	}
	if (pid < 0 || waitpid(pid, &status, 0) != pid || !WIFEXITED(status))
		return -999;
	return -WEXITSTATUS(status);
}

TEST(refuses_unreadable_key_and_accepts_key_of_current_user)
{
	const char *root_key = make_key("kroot", 32, 0600);
	const char *own_key = make_key("kown", 32, 0600);

	if (!is_root()) {
		CHECK(0);
		return;
	}
	CHECK(chown(own_key, NOBODY, NOBODY) == 0);
	CHECK(chmod(tmpdir, 0711) == 0);	/* nobody may pass through */
	CHECK_ERR(load_as_nobody(root_key), -EACCES);
	CHECK_ERR(load_as_nobody(own_key), 0);
	CHECK(chmod(tmpdir, 0700) == 0);
}

TEST(uuid_canonical_lowercases_and_rejects_path_tricks)
{
	static const char *const bad[] = {
		"", "../../../../etc/passwd", "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f",
		"0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f00",
		"{0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f}",
		"0f1e2d3c/4b5a-6978-8796-a5b4c3d2e1f0",
		"0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f\n",
		"0f1e2d3c4b5a69788796a5b4c3d2e1f00000",
		"0g1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0",
		"../1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0",
		" f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0",
	};
	char out[VSF_KEY_UUID_LEN + 1];

	CHECK_ERR(vsf_key_uuid_canonical(UUID_UC, out), 0);
	CHECK_STR(out, UUID_LC);
	CHECK_ERR(vsf_key_uuid_canonical(NULL, out), -EINVAL);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (vsf_key_uuid_canonical(bad[i], out) != -EINVAL) {
			fprintf(stderr, "accepted bad uuid '%s'\n", bad[i]);
			CHECK(0);
		}
	}
}

static void make_guest_dir(void)
{
	(void)mkdir(at("guests"), 0700);
}

TEST(guest_key_is_used_when_present_whatever_the_uuid_case)
{
	struct vsf_key key;
	char err[512];
	const char *shared = make_key("shared", 64, 0600);
	const char *mine;

	make_guest_dir();
	mine = make_key("guests/" UUID_LC, 32, 0600);
	CHECK_ERR(vsf_key_load_for_guest(at("guests"), UUID_LC, shared, &key,
					 err, sizeof(err)), VSF_KEY_GUEST);
	CHECK_STR(key.path, mine);
	CHECK_ERR(key.len, 32);
	CHECK_ERR(vsf_key_load_for_guest(at("guests"), UUID_UC, shared, &key,
					 err, sizeof(err)), VSF_KEY_GUEST);
	CHECK_STR(key.path, mine);
	(void)unlink(mine);
}

TEST(shared_key_is_used_without_guest_key)
{
	struct vsf_key key;
	char err[512];
	const char *shared = make_key("shared", 64, 0600);

	make_guest_dir();
	CHECK_ERR(vsf_key_load_for_guest(at("guests"), UUID_LC, shared, &key,
					 err, sizeof(err)), VSF_KEY_SHARED);
	CHECK_STR(key.path, shared);
	CHECK_ERR(key.len, 64);
	CHECK_ERR(vsf_key_load_for_guest(at("no-such-dir"), UUID_LC, shared,
					 &key, err, sizeof(err)),
		  VSF_KEY_SHARED);
	CHECK_ERR(vsf_key_load_for_guest(NULL, UUID_LC, shared, &key, err,
					 sizeof(err)), VSF_KEY_SHARED);
}

TEST(bad_guest_key_is_an_error_not_a_fallback)
{
	struct vsf_key key;
	char err[512];
	const char *shared = make_key("shared", 64, 0600);

	make_guest_dir();
	(void)make_key("guests/" UUID_LC, 32, 0644);
	CHECK_ERR(vsf_key_load_for_guest(at("guests"), UUID_LC, shared, &key,
					 err, sizeof(err)), -EPERM);
	CHECK(has(err, UUID_LC));
	(void)unlink(at("guests/" UUID_LC));
	CHECK(symlink("gone", at("guests/" UUID_LC)) == 0);
	CHECK_ERR(vsf_key_load_for_guest(at("guests"), UUID_LC, shared, &key,
					 err, sizeof(err)), -ENOENT);
	(void)unlink(at("guests/" UUID_LC));
	/* A guest directory that is not a directory is a config error. */
	CHECK_ERR(vsf_key_load_for_guest(shared, UUID_LC, shared, &key, err,
					 sizeof(err)), -ENOTDIR);
}

TEST(guest_lookup_rejects_path_tricks_in_uuid)
{
	struct vsf_key key;
	char err[512];
	const char *shared = make_key("shared", 64, 0600);

	make_guest_dir();
	CHECK_ERR(vsf_key_load_for_guest(at("guests"), "../shared", shared,
					 &key, err, sizeof(err)), -EINVAL);
	CHECK(has(err, "not a canonical UUID"));
	CHECK_ERR(vsf_key_load_for_guest(at("guests"), NULL, shared, &key, err,
					 sizeof(err)), -EINVAL);
	CHECK_ERR(key.len, 0);
}

TEST(fingerprint_known_answers)
{
	struct vsf_key key = { .len = 3 };
	char fp[VSF_KEY_FP_SIZE], err[512];
	const char *p = at("kfp");
	int fd;

	memcpy(key.bytes, "abc", 3);
	CHECK_ERR(vsf_key_fingerprint(&key, fp), 0);
	CHECK_STR(fp, "SHA256:ba7816bf8f01cfea414140de5dae2223"
		  "b00361a396177a9cb410ff61f20015ad");
	(void)unlink(p);
	fd = open(p, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	CHECK(fd >= 0 && write(fd, "0123456789abcdef", 16) == 16);
	(void)close(fd);
	CHECK_ERR(load(p, &key, err), 0);
	CHECK_ERR(vsf_key_fingerprint(&key, fp), 0);
	CHECK_STR(fp, "SHA256:9f9f5111f7b27a781f1f1ddde5ebc2dd"
		  "2b796bfc7365c9c28b548e564176929f");
	CHECK_ERR(strlen(fp), VSF_KEY_FP_SIZE - 1);
}

static int rm_one(const char *p, const struct stat *st, int flag,
		  struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	return flag == FTW_DP ? rmdir(p) : unlink(p);
}

int main(void)
{
	const char *base = getenv("TMPDIR");
	int rc;

	(void)snprintf(tmpdir, sizeof(tmpdir), "%s/key_test.XXXXXX",
		       base && *base ? base : "/tmp");
	if (!mkdtemp(tmpdir)) {
		perror("mkdtemp");
		return 1;
	}
	rc = RUN_TESTS();
	(void)nftw(tmpdir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	return rc;
}
