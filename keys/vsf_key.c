/* vsf_key.c - the key loader; see vsf_key.h for the contract. */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "vsf_hash.h"
#include "vsf_key.h"

#define _cleanup_close_ __attribute__((cleanup(closep)))

static void closep(int *fd)
{
	if (*fd >= 0)
		(void)close(*fd);
}

__attribute__((format(printf, 3, 4)))
static int say(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err && errlen) {
		va_start(ap, fmt);
		(void)vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return 0;
}

/* Root may own a key; so may we.  Anyone else could replace it. */
static int is_trusted_owner(uid_t uid)
{
	return uid == 0 || uid == geteuid();
}

/* "root", "nobody", or "uid 1234" when the user has no name. */
static const char *user_name(uid_t uid, char *buf, size_t len)
{
	struct passwd pw, *res = NULL;
	char pwbuf[1024];

	if (getpwuid_r(uid, &pw, pwbuf, sizeof(pwbuf), &res) == 0 && res)
		(void)snprintf(buf, len, "%s", res->pw_name);
	else
		(void)snprintf(buf, len, "uid %u", (unsigned int)uid);
	return buf;
}

static const char *type_name(mode_t mode)
{
	if (S_ISDIR(mode))
		return "a directory";
	if (S_ISFIFO(mode))
		return "a FIFO";
	if (S_ISCHR(mode))
		return "a character device";
	if (S_ISBLK(mode))
		return "a block device";
	if (S_ISSOCK(mode))
		return "a socket";
	return "not a regular file";
}

static int copy_path(char out[VSF_KEY_PATH_MAX], const char *path)
{
	size_t n = strlen(path);

	if (n == 0 || n >= VSF_KEY_PATH_MAX)
		return -EINVAL;
	memcpy(out, path, n + 1);
	return 0;
}

/* Replace @cur (a symlink's path) with the path its @target names. */
static int follow(char cur[VSF_KEY_PATH_MAX], const char *target)
{
	char next[VSF_KEY_PATH_MAX];
	const char *slash = strrchr(cur, '/');
	int n;

	if (target[0] == '/' || !slash)
		return copy_path(cur, target);
	n = snprintf(next, sizeof(next), "%.*s/%s", (int)(slash - cur), cur,
		     target);
	if (n < 0 || (size_t)n >= sizeof(next))
		return -EINVAL;
	memcpy(cur, next, (size_t)n + 1);
	return 0;
}

static int refuse_open(const char *path, int r, char *err, size_t errlen)
{
	if (r == -ENOENT)
		say(err, errlen, "key file '%s' does not exist; make one with: "
		    "vserial-keygen '%s'", path, path);
	else if (r == -EACCES)
		say(err, errlen, "cannot open key file '%s': %s; run as root "
		    "or as the key's owner", path, strerror(-r));
	else
		say(err, errlen, "cannot open key file '%s': %s", path,
		    strerror(-r));
	return r;
}

/*
 * Check the symlink open as @fd (an O_PATH handle on @cur) and replace @cur
 * with its target.  The handle pins the inode, so the owner we check and
 * the target we read belong to the same link.
 */
static int step_link(int fd, const struct stat *st, char cur[VSF_KEY_PATH_MAX],
		     char *err, size_t errlen)
{
	char target[VSF_KEY_PATH_MAX], who[64], me[64];
	ssize_t n;

	if (!is_trusted_owner(st->st_uid)) {
		say(err, errlen, "symlink '%s' is owned by %s, who could point "
		    "it at another key; fix: chown -h %s '%s'", cur,
		    user_name(st->st_uid, who, sizeof(who)),
		    user_name(geteuid(), me, sizeof(me)), cur);
		return -ELOOP;
	}
	n = readlinkat(fd, "", target, sizeof(target));
	if (n < 0) {
		int r = -errno;

		say(err, errlen, "cannot read symlink '%s': %s", cur,
		    strerror(-r));
		return r;
	}
	if (n == 0 || (size_t)n >= sizeof(target))
		goto bad_target;
	target[n] = '\0';
	if (follow(cur, target) < 0)
		goto bad_target;
	return 0;

bad_target:
	say(err, errlen, "symlink '%s' has an empty or over-long target", cur);
	return -EINVAL;
}

/*
 * Resolve the symlinks in the final component of key->path, checking the
 * owner of each, until key->path names something that is not a symlink.
 */
static int resolve_links(struct vsf_key *key, char *err, size_t errlen)
{
	for (int hops = 0;; hops++) {
		_cleanup_close_ int fd = -1;
		struct stat st;
		int r;

		fd = open(key->path, O_PATH | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0)
			return refuse_open(key->path, -errno, err, errlen);
		if (fstat(fd, &st) < 0)
			return refuse_open(key->path, -errno, err, errlen);
		if (!S_ISLNK(st.st_mode))
			return 0;
		if (hops == VSF_KEY_MAX_LINKS) {
			say(err, errlen, "too many symlinks at '%s'",
			    key->path);
			return -ELOOP;
		}
		r = step_link(fd, &st, key->path, err, errlen);
		if (r < 0)
			return r;
	}
}

/* Type, owner and mode of the opened key file. */
static int check_file(int fd, const char *path, char *err, size_t errlen)
{
	char who[64], me[64];
	struct stat st;

	if (fstat(fd, &st) < 0)
		return refuse_open(path, -errno, err, errlen);
	if (!S_ISREG(st.st_mode)) {
		say(err, errlen, "key file '%s' is %s; a key is a regular file "
		    "of random bytes", path, type_name(st.st_mode));
		return -EMEDIUMTYPE;
	}
	if (!is_trusted_owner(st.st_uid)) {
		say(err, errlen, "key file '%s' is owned by %s, who could "
		    "replace the key; fix: chown %s '%s'", path,
		    user_name(st.st_uid, who, sizeof(who)),
		    user_name(geteuid(), me, sizeof(me)), path);
		return -EOWNERDEAD;
	}
	if (st.st_mode & (S_IRWXG | S_IRWXO)) {
		say(err, errlen, "key file '%s' has mode %04o, open to group "
		    "or others; fix: chmod 600 '%s'", path,
		    (unsigned int)(st.st_mode & 07777), path);
		return -EPERM;
	}
	return 0;
}

static int read_key(int fd, struct vsf_key *key, char *err, size_t errlen)
{
	while (key->len < VSF_KEY_MAX) {
		ssize_t n = read(fd, key->bytes + key->len,
				 VSF_KEY_MAX - key->len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			int r = errno == EACCES ? -EACCES : -EIO;

			say(err, errlen, "cannot read key file '%s': %s",
			    key->path, strerror(errno));
			return r;
		}
		if (n == 0)
			break;
		key->len += (size_t)n;
	}
	if (key->len == 0) {
		say(err, errlen, "key file '%s' is empty; make a key with: "
		    "vserial-keygen --force '%s'", key->path, key->path);
		return -ENODATA;
	}
	if (key->len < VSF_KEY_MIN) {
		say(err, errlen, "key file '%s' has only %zu bytes, at least "
		    "%d are needed; make a key with: vserial-keygen --force "
		    "'%s'", key->path, key->len, VSF_KEY_MIN, key->path);
		return -ERANGE;
	}
	return 0;
}

static int load(const char *path, struct vsf_key *key, char *err,
		size_t errlen)
{
	_cleanup_close_ int fd = -1;
	int r;

	if (copy_path(key->path, path) < 0) {
		say(err, errlen, "key path is empty or too long");
		return -EINVAL;
	}
	r = resolve_links(key, err, errlen);
	if (r < 0)
		return r;
	/* O_NONBLOCK: a FIFO swapped in must not hang us before fstat. */
	fd = open(key->path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY |
		  O_NONBLOCK);
	if (fd < 0 && errno == ELOOP) {
		say(err, errlen, "key file '%s' became a symlink while being "
		    "opened; try again", key->path);
		return -ELOOP;
	}
	if (fd < 0)
		return refuse_open(key->path, -errno, err, errlen);
	r = check_file(fd, key->path, err, errlen);
	if (r < 0)
		return r;
	return read_key(fd, key, err, errlen);
}

int vsf_key_load(const char *path, struct vsf_key *key, char *err,
		 size_t errlen)
{
	int r;

	key->len = 0;
	key->path[0] = '\0';
	if (err && errlen)
		err[0] = '\0';
	r = load(path ? path : VSF_KEY_DEFAULT_PATH, key, err, errlen);
	if (r < 0) {
		explicit_bzero(key->bytes, sizeof(key->bytes));
		key->len = 0;
	}
	return r;
}

int vsf_key_uuid_canonical(const char *uuid, char out[VSF_KEY_UUID_LEN + 1])
{
	if (!uuid || strlen(uuid) != VSF_KEY_UUID_LEN)
		return -EINVAL;
	for (int i = 0; i < VSF_KEY_UUID_LEN; i++) {
		unsigned char c = (unsigned char)uuid[i];

		if (i == 8 || i == 13 || i == 18 || i == 23) {
			if (c != '-')
				return -EINVAL;
		} else if (!isxdigit(c)) {
			return -EINVAL;
		}
		out[i] = (char)tolower(c);
	}
	out[VSF_KEY_UUID_LEN] = '\0';
	return 0;
}

/* Does @dir hold an entry for @id?  1 yes, 0 no (or no @dir), or -errno. */
static int guest_key_exists(const char *dir, const char *id,
			    char path[VSF_KEY_PATH_MAX], char *err,
			    size_t errlen)
{
	struct stat st;
	int n, r;

	n = snprintf(path, VSF_KEY_PATH_MAX, "%s/%s", dir, id);
	if (n < 0 || n >= VSF_KEY_PATH_MAX) {
		say(err, errlen, "per-guest key directory path is too long");
		return -EINVAL;
	}
	if (lstat(path, &st) == 0)
		return 1;
	r = -errno;
	if (r == -ENOENT)
		return 0;
	say(err, errlen, "cannot look for per-guest key '%s': %s", path,
	    strerror(-r));
	return r;
}

int vsf_key_load_for_guest(const char *dir, const char *uuid,
			   const char *shared_path, struct vsf_key *key,
			   char *err, size_t errlen)
{
	char id[VSF_KEY_UUID_LEN + 1], path[VSF_KEY_PATH_MAX];
	int r;

	key->len = 0;
	key->path[0] = '\0';
	if (vsf_key_uuid_canonical(uuid, id) < 0) {
		say(err, errlen, "guest UUID '%s' is not a canonical UUID "
		    "(8-4-4-4-12 hex digits)", uuid ? uuid : "(null)");
		return -EINVAL;
	}
	r = dir && *dir ? guest_key_exists(dir, id, path, err, errlen) : 0;
	if (r < 0)
		return r;
	if (r == 1) {
		r = vsf_key_load(path, key, err, errlen);
		return r < 0 ? r : VSF_KEY_GUEST;
	}
	r = vsf_key_load(shared_path, key, err, errlen);
	return r < 0 ? r : VSF_KEY_SHARED;
}

int vsf_key_fingerprint(const struct vsf_key *key, char out[VSF_KEY_FP_SIZE])
{
	static const char hex[] = "0123456789abcdef";
	uint8_t d[32];
	char *p = out;

	if (vsf_hash_init() < 0 || vsf_sha256(key->bytes, key->len, d) < 0)
		return -EIO;
	memcpy(p, "SHA256:", 7);
	p += 7;
	for (size_t i = 0; i < sizeof(d); i++) {
		*p++ = hex[d[i] >> 4];
		*p++ = hex[d[i] & 15];
	}
	*p = '\0';
	return 0;
}

void vsf_key_done(struct vsf_key *key)
{
	if (!key)
		return;
	explicit_bzero(key->bytes, sizeof(key->bytes));
	key->len = 0;
}
