/*
 * vsf_key.h - loading the shared secret that signs fence requests.
 *
 * The key format is fence-virt's: a file of raw bytes, of which the first
 * VSF_KEY_MAX (4096) are used; anything after that is ignored, as the stock
 * programs do.  One key is shared by every guest and host of a virtual
 * cluster, or (our extension) one key per guest in a directory named by the
 * guest's UUID.
 *
 * Unlike the stock programs, which read whatever they are given, the loader
 * refuses a key that someone else could have read or replaced:
 *
 *	errno          refusal
 *	-EINVAL        bad arguments: NULL/empty/over-long path, malformed UUID
 *	-ENOENT        the file (or a symlink's target) does not exist
 *	-EACCES        the operating system refused to open or read it
 *	-EMEDIUMTYPE   not a regular file (directory, FIFO, device, socket)
 *	-ELOOP         a symlink owned by a user other than root and us, or
 *	               more than VSF_KEY_MAX_LINKS symlinks in a chain
 *	-EOWNERDEAD    the file is owned by a user other than root and us
 *	-EPERM         the file's mode gives group or others any access
 *	-ENODATA       the file is empty
 *	-ERANGE        the file is shorter than VSF_KEY_MIN bytes
 *	-EIO           a read error (or another unexpected errno, passed on)
 *
 * On refusal @err receives one line saying which file, why, and the command
 * that fixes it (e.g. "chmod 600 '/etc/cluster/fence_xvm.key'").  Nothing
 * here prints or allocates.
 *
 * Checks run on the opened descriptor (fstat), and the final path component
 * is opened with O_NOFOLLOW after each symlink on the way was inspected
 * through an O_PATH handle, so nothing can be swapped in between the checks
 * and the read.  Directories above the file are trusted as they are.
 */
#ifndef VSF_KEY_H
#define VSF_KEY_H

#include <stddef.h>
#include <stdint.h>

#define VSF_KEY_DEFAULT_PATH "/etc/cluster/fence_xvm.key"
#define VSF_KEY_MAX 4096	/* bytes used, as fence-virt's MAX_KEY_LEN */
#define VSF_KEY_MIN 16		/* shorter keys are refused */
#define VSF_KEY_PATH_MAX 4096	/* including the NUL */
#define VSF_KEY_MAX_LINKS 8	/* symlinks followed before -ELOOP */
#define VSF_KEY_UUID_LEN 36	/* "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx" */

/* "SHA256:" + 64 lower-case hex digits + NUL. */
#define VSF_KEY_FP_SIZE 72

/* A loaded key.  Plain data: no cleanup needed beyond vsf_key_done(). */
struct vsf_key {
	uint8_t bytes[VSF_KEY_MAX];	/* the first len bytes of the file */
	size_t len;			/* VSF_KEY_MIN..VSF_KEY_MAX */
	char path[VSF_KEY_PATH_MAX];	/* the regular file actually read
					 * (after symlinks were resolved) */
};

/* Which file vsf_key_load_for_guest() used (its non-negative return). */
enum vsf_key_source {
	VSF_KEY_SHARED = 0,	/* the shared key at shared_path */
	VSF_KEY_GUEST = 1,	/* DIR/<uuid> */
};

/*
 * Read the key at @path (NULL: VSF_KEY_DEFAULT_PATH) into @key.  Returns 0,
 * or a negative errno from the table above with the reason in @err (which
 * may be NULL when @errlen is 0).  On failure key->len is 0 and key->bytes
 * are zero; key->path names the file that was refused (the symlink target
 * when the refusal is about the target).
 */
int vsf_key_load(const char *path, struct vsf_key *key,
		 char *err, size_t errlen);

/*
 * Load the key for the guest @uuid: DIR/<uuid in lower case> if that name
 * exists in @dir (a symlink counts as existing, even if dangling), else the
 * shared key at @shared_path.  A per-guest key that exists but is refused is
 * an error, never a silent fall back to the shared key.  @dir may be NULL
 * (shared key only); a missing @dir means "no per-guest keys"; any other
 * failure to look in @dir is an error.  @shared_path NULL means
 * VSF_KEY_DEFAULT_PATH.
 *
 * @uuid must be canonical (8-4-4-4-12 hex digits, either case, nothing
 * else), so it can never name anything but a plain file in @dir: -EINVAL
 * otherwise.  Returns enum vsf_key_source, or a negative errno as
 * vsf_key_load(); key->path names the file used either way.
 */
int vsf_key_load_for_guest(const char *dir, const char *uuid,
			   const char *shared_path, struct vsf_key *key,
			   char *err, size_t errlen);

/*
 * Copy @uuid into @out in lower case if it is a canonical UUID; -EINVAL
 * otherwise.  Used to name per-guest key files.
 */
int vsf_key_uuid_canonical(const char *uuid,
			   char out[VSF_KEY_UUID_LEN + 1]);

/*
 * Write "SHA256:<hex>" of key->bytes[0..len) into @out: the same digest as
 * `sha256sum` of a key file of at most VSF_KEY_MAX bytes.  Safe to log: it
 * reveals nothing usable about the key.  Returns 0 or -EIO (NSS failure).
 */
int vsf_key_fingerprint(const struct vsf_key *key,
			char out[VSF_KEY_FP_SIZE]);

/* Wipe the key material (explicit_bzero); @key may be NULL. */
void vsf_key_done(struct vsf_key *key);

#endif /* VSF_KEY_H */
