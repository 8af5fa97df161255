/*
 * vserial-keygen - make a fence-virt compatible key file, or show the
 * fingerprint of one.  See vserial-keygen(8) and docs/keys.md.
 *
 * A new key is written to a temporary file in the destination directory,
 * synced, then linked (or, with --force, renamed) into place, so a crash
 * leaves either no key or a whole key at the destination, never half of one.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "vsf_hash.h"
#include "vsf_key.h"
#include "vsf_num.h"

/* Exit codes, documented in vserial-keygen(8). */
enum {
	EXIT_OK = 0,
	EXIT_ERROR = 1,		/* system or I/O failure */
	EXIT_USAGE = 2,		/* bad command line */
	EXIT_EXISTS = 3,	/* would overwrite, or directory missing */
	EXIT_REFUSED = 4,	/* the loader refused the key */
};

#define DEFAULT_BYTES VSF_KEY_MAX

static const char *arg_path;
static const char *arg_guest_dir;
static const char *arg_uuid;
static const char *arg_fingerprint;
static size_t arg_bytes = DEFAULT_BYTES;
static int arg_force;
static int arg_mkdir;

static void usage(FILE *f)
{
	fprintf(f,
"Usage: vserial-keygen [OPTIONS] [PATH]\n"
"       vserial-keygen [OPTIONS] --guest-dir DIR --uuid UUID\n"
"       vserial-keygen --fingerprint PATH\n"
"\n"
"Write a new random fence key (raw bytes, fence-virt's format) to PATH\n"
"(default " VSF_KEY_DEFAULT_PATH ") with mode 0600, and print its\n"
"fingerprint as \"SHA256:<hex> PATH\".\n"
"\n"
"  -b, --bytes N          key length, %d..%d (default %d)\n"
"  -f, --force            replace an existing key file\n"
"  -p, --mkdir            create missing parent directories (mode 0700)\n"
"  -g, --guest-dir DIR    write a per-guest key DIR/<uuid>; needs --uuid\n"
"  -u, --uuid UUID        the guest's UUID (canonical 8-4-4-4-12 form)\n"
"  -l, --fingerprint PATH print the fingerprint of an existing key\n"
"  -h, --help             show this help\n"
"  -V, --version          show the version\n"
"\n"
"Exit status: 0 done, 1 system error, 2 usage error, 3 destination\n"
"exists (use --force) or its directory is missing (use --mkdir),\n"
"4 key refused (missing, unreadable, unsafe owner or mode, too short).\n",
		VSF_KEY_MIN, VSF_KEY_MAX, DEFAULT_BYTES);
}

static int parse_bytes(const char *s, size_t *out)
{
	unsigned long v;

	if (vsf_parse_ulong(s, VSF_KEY_MAX, &v) < 0 || v < VSF_KEY_MIN)
		return -EINVAL;
	*out = v;
	return 0;
}

static int check_args(void)
{
	if (!!arg_guest_dir != !!arg_uuid) {
		fprintf(stderr, "vserial-keygen: --guest-dir and --uuid go "
			"together\n");
		return -EINVAL;
	}
	if (arg_guest_dir && arg_path) {
		fprintf(stderr, "vserial-keygen: give either PATH or "
			"--guest-dir/--uuid, not both\n");
		return -EINVAL;
	}
	if (arg_fingerprint && (arg_path || arg_guest_dir)) {
		fprintf(stderr, "vserial-keygen: --fingerprint takes no other "
			"key path\n");
		return -EINVAL;
	}
	return 0;
}

/* Returns 0 to go on, 1 to exit 0 (help/version), or -EINVAL. */
static int parse_argv(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "bytes", required_argument, NULL, 'b' },
		{ "force", no_argument, NULL, 'f' },
		{ "mkdir", no_argument, NULL, 'p' },
		{ "guest-dir", required_argument, NULL, 'g' },
		{ "uuid", required_argument, NULL, 'u' },
		{ "fingerprint", required_argument, NULL, 'l' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ 0 }
	};
	int c;

	while ((c = getopt_long(argc, argv, "b:fpg:u:l:hV", opts, NULL)) >= 0) {
		switch (c) {
		case 'b':
			if (parse_bytes(optarg, &arg_bytes) < 0) {
				fprintf(stderr, "vserial-keygen: --bytes '%s': "
					"want a number from %d to %d\n",
					optarg, VSF_KEY_MIN, VSF_KEY_MAX);
				return -EINVAL;
			}
			break;
		case 'f': arg_force = 1; break;
		case 'p': arg_mkdir = 1; break;
		case 'g': arg_guest_dir = optarg; break;
		case 'u': arg_uuid = optarg; break;
		case 'l': arg_fingerprint = optarg; break;
		case 'h': usage(stdout); return 1;
		case 'V':
			printf("vserial-keygen (%s) %s\n", PACKAGE_NAME,
			       PACKAGE_VERSION);
			return 1;
		default:
			usage(stderr);
			return -EINVAL;
		}
	}
	if (optind < argc)
		arg_path = argv[optind++];
	if (optind < argc) {
		fprintf(stderr, "vserial-keygen: unexpected argument '%s'\n",
			argv[optind]);
		return -EINVAL;
	}
	return check_args();
}

static int print_fingerprint(const char *path)
{
	char err[512], fp[VSF_KEY_FP_SIZE];
	struct vsf_key key;
	int r;

	r = vsf_key_load(path, &key, err, sizeof(err));
	if (r < 0) {
		fprintf(stderr, "vserial-keygen: %s\n", err);
		return EXIT_REFUSED;
	}
	r = vsf_key_fingerprint(&key, fp);
	vsf_key_done(&key);
	if (r < 0) {
		fprintf(stderr, "vserial-keygen: cannot hash key '%s': NSS "
			"failed\n", path);
		return EXIT_ERROR;
	}
	printf("%s %s\n", fp, path);
	return EXIT_OK;
}

/* mkdir -p @dir, each new directory 0700. */
static int make_dirs(const char *dir)
{
	char buf[VSF_KEY_PATH_MAX];
	size_t n = strlen(dir);

	if (n >= sizeof(buf))
		return -ENAMETOOLONG;
	memcpy(buf, dir, n + 1);
	for (char *p = buf + 1;; p++) {
		if (*p != '/' && *p != '\0')
			continue;
		char saved = *p;

		*p = '\0';
		if (mkdir(buf, 0700) < 0 && errno != EEXIST)
			return -errno;
		*p = saved;
		if (!saved)
			return 0;
	}
}

/* Split @path into its directory and base name (both into caller buffers). */
static void split_path(const char *path, char dir[VSF_KEY_PATH_MAX],
		       const char **base)
{
	const char *slash = strrchr(path, '/');

	if (!slash) {
		strcpy(dir, ".");
		*base = path;
	} else if (slash == path) {
		strcpy(dir, "/");
		*base = slash + 1;
	} else {
		(void)snprintf(dir, VSF_KEY_PATH_MAX, "%.*s",
			       (int)(slash - path), path);
		*base = slash + 1;
	}
}

/* The directory must exist (or be made with --mkdir); the file must not. */
static int check_destination(const char *path, const char *dir)
{
	struct stat st;
	int r;

	if (stat(dir, &st) < 0 && errno == ENOENT) {
		if (!arg_mkdir) {
			fprintf(stderr, "vserial-keygen: directory '%s' does "
				"not exist; create it (mode 0700) or pass "
				"--mkdir\n", dir);
			return EXIT_EXISTS;
		}
		r = make_dirs(dir);
		if (r < 0) {
			fprintf(stderr, "vserial-keygen: cannot create "
				"directory '%s': %s\n", dir, strerror(-r));
			return EXIT_ERROR;
		}
	}
	if (!arg_force && lstat(path, &st) == 0) {
		fprintf(stderr, "vserial-keygen: '%s' already exists; pass "
			"--force to replace it (every guest and host using "
			"the old key then needs the new one)\n", path);
		return EXIT_EXISTS;
	}
	return EXIT_OK;
}

static int write_all(int fd, const uint8_t *buf, size_t len)
{
	while (len) {
		ssize_t n = write(fd, buf, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Fill the temporary file @tmp (made by mkostemp) with a new key. */
static int fill_temp(char *tmp)
{
	uint8_t bytes[VSF_KEY_MAX];
	int fd, r;

	fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0)
		return -errno;
	r = vsf_random_bytes(bytes, arg_bytes);
	if (r == 0 && fchmod(fd, 0600) < 0)
		r = -errno;
	if (r == 0)
		r = write_all(fd, bytes, arg_bytes);
	if (r == 0 && fsync(fd) < 0)
		r = -errno;
	explicit_bzero(bytes, sizeof(bytes));
	if (close(fd) < 0 && r == 0)
		r = -errno;
	if (r < 0)
		(void)unlink(tmp);
	return r;
}

/* Move the finished @tmp to @path: link (refuses to replace) or rename. */
static int publish(const char *tmp, const char *path)
{
	int r = 0;

	if (arg_force) {
		if (rename(tmp, path) < 0)
			r = -errno;
	} else if (link(tmp, path) < 0) {
		r = -errno;
	}
	(void)unlink(tmp);	/* after rename: already gone */
	return r;
}

static void sync_dir(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd >= 0) {
		(void)fsync(fd);	/* best effort: the key is in place */
		(void)close(fd);
	}
}

static int generate(const char *path)
{
	char dir[VSF_KEY_PATH_MAX], tmp[VSF_KEY_PATH_MAX];
	const char *base;
	int r, n;

	split_path(path, dir, &base);
	r = check_destination(path, dir);
	if (r != EXIT_OK)
		return r;
	n = snprintf(tmp, sizeof(tmp), "%s/.%s.XXXXXX", dir, base);
	if (n < 0 || (size_t)n >= sizeof(tmp)) {
		fprintf(stderr, "vserial-keygen: path '%s' is too long\n",
			path);
		return EXIT_USAGE;
	}
	r = fill_temp(tmp);
	if (r < 0) {
		fprintf(stderr, "vserial-keygen: cannot write a key in '%s': "
			"%s\n", dir, strerror(-r));
		return EXIT_ERROR;
	}
	r = publish(tmp, path);
	if (r == -EEXIST) {
		fprintf(stderr, "vserial-keygen: '%s' appeared meanwhile; "
			"pass --force to replace it\n", path);
		return EXIT_EXISTS;
	}
	if (r < 0) {
		fprintf(stderr, "vserial-keygen: cannot install key as '%s': "
			"%s\n", path, strerror(-r));
		return EXIT_ERROR;
	}
	sync_dir(dir);
	/* Read it back through the loader: what we print is what they use. */
	return print_fingerprint(path);
}

static int guest_key_path(char out[VSF_KEY_PATH_MAX])
{
	char id[VSF_KEY_UUID_LEN + 1];
	int n;

	if (vsf_key_uuid_canonical(arg_uuid, id) < 0) {
		fprintf(stderr, "vserial-keygen: --uuid '%s' is not a "
			"canonical UUID (8-4-4-4-12 hex digits)\n", arg_uuid);
		return -EINVAL;
	}
	n = snprintf(out, VSF_KEY_PATH_MAX, "%s/%s", arg_guest_dir, id);
	if (n < 0 || n >= VSF_KEY_PATH_MAX) {
		fprintf(stderr, "vserial-keygen: --guest-dir is too long\n");
		return -EINVAL;
	}
	return 0;
}

int main(int argc, char **argv)
{
	char path[VSF_KEY_PATH_MAX];
	int r;

	r = parse_argv(argc, argv);
	if (r != 0)
		return r > 0 ? EXIT_OK : EXIT_USAGE;
	if (vsf_hash_init() < 0) {
		fprintf(stderr, "vserial-keygen: cannot initialise NSS\n");
		return EXIT_ERROR;
	}
	if (arg_fingerprint)
		return print_fingerprint(arg_fingerprint);
	if (arg_guest_dir) {
		if (guest_key_path(path) < 0)
			return EXIT_USAGE;
		return generate(path);
	}
	return generate(arg_path ? arg_path : VSF_KEY_DEFAULT_PATH);
}
