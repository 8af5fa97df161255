/*
 * conf.h - the "simpleconfig" file format of fence_virt.conf, as a tree.
 *
 * Grammar (matches stock fence_virtd 4.12.1, checked against the binary):
 *
 *   file    := stmt*
 *   stmt    := ID '=' VALUE ';'             plain key
 *            | ID '{' stmt* '}'             block
 *            | ID '=' VALUE '{' stmt* '}'   block with a value (no ';' after)
 *   ID      := run of bytes other than whitespace, { } ; = " (a '#' inside
 *              one is kept, as stock does; at a token's start it begins a
 *              comment)
 *   VALUE   := '"' one or more bytes other than '"' '"'   (no escapes; a
 *              newline inside is kept; "" is a syntax error, as in stock)
 *   '#' starts a comment up to the end of the line (outside a VALUE).
 *
 * Nodes keep file order.  Lookups are case-insensitive and, like stock
 * (which builds its lists by prepending), return the LAST node of a given
 * name, so a repeated key's last occurrence wins.  Iterate all occurrences
 * with vsf_conf_next().
 *
 * The parser owns nothing of the caller's; the tree it returns is freed with
 * vsf_conf_free().  Errors are written as "file:line: message" into the
 * caller's buffer.  Input is untrusted: nesting is limited to
 * VSF_CONF_MAX_DEPTH and the text to VSF_CONF_MAX_SIZE.
 */
#ifndef VSF_CONF_H
#define VSF_CONF_H

#include <stddef.h>
#include <stdio.h>

#define VSF_CONF_MAX_DEPTH 32
#define VSF_CONF_MAX_SIZE (1024 * 1024)

struct vsf_conf_node {
	char *name;			/* never NULL; "" for the root */
	char *value;			/* NULL when the statement had none */
	const char *file;		/* shared, owned by the root */
	unsigned int line;		/* line of the identifier */
	struct vsf_conf_node *child;	/* first child, in file order */
	struct vsf_conf_node *next;	/* next sibling, in file order */
};

/*
 * Parse @len bytes of @text, naming @fname in errors.  On success *out is a
 * root node (name "", no value) and 0 is returned.  On failure: -EINVAL
 * (syntax; @err says where), -E2BIG (text or nesting too large), -ENOMEM.
 */
int vsf_conf_parse(const char *text, size_t len, const char *fname,
		   struct vsf_conf_node **out, char *err, size_t errlen);

/* Read and parse a file.  -errno of open/read failures, else as above. */
int vsf_conf_load(const char *path, struct vsf_conf_node **out, char *err,
		  size_t errlen);

/* Free a tree returned by the parser.  Accepts NULL; returns NULL. */
struct vsf_conf_node *vsf_conf_free(struct vsf_conf_node *root);

/* Last child of @n called @name (case-insensitive), or NULL. */
const struct vsf_conf_node *vsf_conf_child(const struct vsf_conf_node *n,
					   const char *name);

/*
 * Follow a '/'-separated path of names from @n, taking the last match at
 * each step ("listeners/serial/path").  NULL if any step is missing.
 */
const struct vsf_conf_node *vsf_conf_find(const struct vsf_conf_node *n,
					  const char *path);

/* Value of vsf_conf_find(n, path), or NULL if missing or valueless. */
const char *vsf_conf_get(const struct vsf_conf_node *n, const char *path);

/*
 * Iterate the children of @parent called @name in file order: pass NULL
 * for @prev to get the first.  A NULL @name matches every child.
 */
const struct vsf_conf_node *vsf_conf_next(const struct vsf_conf_node *parent,
					  const struct vsf_conf_node *prev,
					  const char *name);

/* Write the tree back in the same grammar, file order, tab-indented. */
void vsf_conf_dump(const struct vsf_conf_node *root, FILE *f);

/*
 * Checked number parsing for config values: decimal only, no sign, no
 * junk, at most @max.  -EINVAL for junk, -ERANGE above @max.
 */
int vsf_conf_parse_uint(const char *s, unsigned long max, unsigned long *out);

#endif /* VSF_CONF_H */
