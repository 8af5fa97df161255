/*
 * conf.c - recursive-descent parser for the simpleconfig grammar (conf.h).
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "conf.h"
#include "vsf_num.h"

enum tok {
	TOK_EOF,
	TOK_ID,
	TOK_VALUE,
	TOK_EQ,
	TOK_SEMI,
	TOK_OPEN,
	TOK_CLOSE,
	TOK_BAD,
};

struct lexer {
	const char *p, *end;
	const char *fname;
	unsigned int line;
	/* the current token */
	enum tok tok;
	const char *text;
	size_t len;
	unsigned int tok_line;
	char *err;
	size_t errlen;
};

/* The root owns a copy of the file name; every node points at it. */
struct conf_root {
	struct vsf_conf_node node;
	char fname[];
};

static int fail(struct lexer *lx, unsigned int line, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (!lx->err || !lx->errlen)
		return -EINVAL;
	n = snprintf(lx->err, lx->errlen, "%s:%u: ", lx->fname, line);
	if (n < 0 || (size_t)n >= lx->errlen)
		return -EINVAL;
	va_start(ap, fmt);
	vsnprintf(lx->err + n, lx->errlen - (size_t)n, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

/* '#' starts a comment only where a token would start ("a#b" is one
 * identifier in stock fence_virtd too). */
static int is_id_byte(char c)
{
	return !strchr(" \t\r\n\v\f{};=\"", c) && c != '\0';
}

static void skip_space_and_comments(struct lexer *lx)
{
	while (lx->p < lx->end) {
		char c = *lx->p;

		if (c == '\n') {
			lx->line++;
			lx->p++;
		} else if (c == ' ' || c == '\t' || c == '\r' || c == '\v' ||
			   c == '\f') {
			lx->p++;
		} else if (c == '#') {
			while (lx->p < lx->end && *lx->p != '\n')
				lx->p++;
		} else {
			break;
		}
	}
}

static int lex_value(struct lexer *lx)
{
	const char *start = ++lx->p;
	unsigned int newlines = 0;

	while (lx->p < lx->end && *lx->p != '"') {
		if (*lx->p == '\n')
			newlines++;
		if (*lx->p == '\0')	/* would truncate the value silently */
			return fail(lx, lx->line + newlines,
				    "NUL byte in a \"value\"");
		lx->p++;
	}
	if (lx->p >= lx->end)
		return fail(lx, lx->tok_line, "unterminated \"value\"");
	if (lx->p == start)
		return fail(lx, lx->tok_line,
			    "empty \"\" value (not accepted by fence_virtd)");
	lx->tok = TOK_VALUE;
	lx->text = start;
	lx->len = (size_t)(lx->p - start);
	lx->line += newlines;
	lx->p++;
	return 0;
}

/* Advance to the next token; -EINVAL (with a message) on a lexical error. */
static int lex(struct lexer *lx)
{
	char c;

	skip_space_and_comments(lx);
	lx->tok_line = lx->line;
	if (lx->p >= lx->end) {
		lx->tok = TOK_EOF;
		return 0;
	}
	c = *lx->p;
	switch (c) {
	case '=': lx->tok = TOK_EQ; lx->p++; return 0;
	case ';': lx->tok = TOK_SEMI; lx->p++; return 0;
	case '{': lx->tok = TOK_OPEN; lx->p++; return 0;
	case '}': lx->tok = TOK_CLOSE; lx->p++; return 0;
	case '"': return lex_value(lx);
	case '\0':
		return fail(lx, lx->line, "NUL byte in configuration");
	}
	lx->text = lx->p;
	while (lx->p < lx->end && is_id_byte(*lx->p))
		lx->p++;
	lx->len = (size_t)(lx->p - lx->text);
	lx->tok = TOK_ID;
	return 0;
}

static const char *tok_name(enum tok t)
{
	switch (t) {
	case TOK_EOF: return "end of file";
	case TOK_ID: return "identifier";
	case TOK_VALUE: return "\"value\"";
	case TOK_EQ: return "'='";
	case TOK_SEMI: return "';'";
	case TOK_OPEN: return "'{'";
	case TOK_CLOSE: return "'}'";
	default: return "bad token";
	}
}

static int expect(struct lexer *lx, enum tok want, const char *after)
{
	if (lx->tok == want)
		return 0;
	return fail(lx, lx->tok_line, "expected %s after %s, found %s",
		    tok_name(want), after, tok_name(lx->tok));
}

static struct vsf_conf_node *node_new(const char *name, size_t len,
				      const char *file, unsigned int line)
{
	struct vsf_conf_node *n = calloc(1, sizeof(*n));

	if (!n)
		return NULL;
	n->name = strndup(name, len);
	if (!n->name) {
		free(n);
		return NULL;
	}
	n->file = file;
	n->line = line;
	return n;
}

static void nodes_free(struct vsf_conf_node *n)
{
	while (n) {
		struct vsf_conf_node *next = n->next;

		nodes_free(n->child);
		free(n->name);
		free(n->value);
		free(n);
		n = next;
	}
}

static int parse_stmts(struct lexer *lx, struct vsf_conf_node *parent,
		       int depth);

/* Parse one statement whose identifier is the current token. */
static int parse_stmt(struct lexer *lx, struct vsf_conf_node *n, int depth)
{
	int r;

	if ((r = lex(lx)) < 0)
		return r;
	if (lx->tok == TOK_EQ) {
		if ((r = lex(lx)) < 0)
			return r;
		if ((r = expect(lx, TOK_VALUE, "'='")) < 0)
			return r;
		n->value = strndup(lx->text, lx->len);
		if (!n->value)
			return -ENOMEM;
		if ((r = lex(lx)) < 0)
			return r;
		if (lx->tok == TOK_SEMI)
			return lex(lx);
		if (lx->tok != TOK_OPEN)
			return fail(lx, lx->tok_line,
				    "expected ';' or '{' after the value of "
				    "'%s', found %s", n->name,
				    tok_name(lx->tok));
	} else if (lx->tok != TOK_OPEN) {
		return fail(lx, lx->tok_line,
			    "expected '=' or '{' after '%s', found %s",
			    n->name, tok_name(lx->tok));
	}
	/* a block: the current token is '{' */
	if (depth >= VSF_CONF_MAX_DEPTH) {
		fail(lx, lx->tok_line, "blocks nested deeper than %d",
		     VSF_CONF_MAX_DEPTH);
		return -E2BIG;
	}
	if ((r = lex(lx)) < 0)
		return r;
	if ((r = parse_stmts(lx, n, depth + 1)) < 0)
		return r;
	if (lx->tok != TOK_CLOSE)
		return fail(lx, lx->tok_line,
			    "expected '}' to close '%s' (opened on line %u), "
			    "found %s", n->name, n->line, tok_name(lx->tok));
	return lex(lx);
}

static int parse_stmts(struct lexer *lx, struct vsf_conf_node *parent,
		       int depth)
{
	struct vsf_conf_node **tail = &parent->child;

	while (lx->tok == TOK_ID) {
		struct vsf_conf_node *n;
		int r;

		n = node_new(lx->text, lx->len, parent->file, lx->tok_line);
		if (!n)
			return -ENOMEM;
		*tail = n;
		tail = &n->next;
		if ((r = parse_stmt(lx, n, depth)) < 0)
			return r;
	}
	return 0;
}

int vsf_conf_parse(const char *text, size_t len, const char *fname,
		   struct vsf_conf_node **out, char *err, size_t errlen)
{
	struct conf_root *root;
	struct lexer lx;
	size_t flen;
	int r;

	*out = NULL;
	if (err && errlen)
		err[0] = '\0';
	if (!fname)
		fname = "<config>";
	flen = strlen(fname);
	memset(&lx, 0, sizeof(lx));
	lx.p = text;
	lx.end = text + len;
	lx.fname = fname;
	lx.line = 1;
	lx.err = err;
	lx.errlen = errlen;
	if (len > VSF_CONF_MAX_SIZE) {
		fail(&lx, 1, "file larger than %d bytes", VSF_CONF_MAX_SIZE);
		return -E2BIG;
	}
	root = calloc(1, sizeof(*root) + flen + 1);
	if (!root)
		return -ENOMEM;
	memcpy(root->fname, fname, flen + 1);
	root->node.name = calloc(1, 1);
	if (!root->node.name) {
		free(root);
		return -ENOMEM;
	}
	root->node.file = root->fname;
	root->node.line = 1;

	r = lex(&lx);
	if (r >= 0)
		r = parse_stmts(&lx, &root->node, 0);
	if (r >= 0 && lx.tok != TOK_EOF)
		r = fail(&lx, lx.tok_line, "unexpected %s",
			 tok_name(lx.tok));
	if (r < 0) {
		if (r == -ENOMEM && err && errlen)
			snprintf(err, errlen, "%s: out of memory", fname);
		vsf_conf_free(&root->node);
		return r;
	}
	*out = &root->node;
	return 0;
}

int vsf_conf_load(const char *path, struct vsf_conf_node **out, char *err,
		  size_t errlen)
{
	size_t got = 0, cap = 4096;
	char *buf, *nb;
	int fd, r;

	*out = NULL;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		r = -errno;
		snprintf(err, errlen, "%s: cannot open: %s", path, strerror(-r));
		return r;
	}
	/* read to EOF, not to st_size: a pipe or /dev/stdin has none */
	buf = malloc(cap);
	for (r = 0; buf && r == 0;) {
		ssize_t n;

		if (got == cap) {
			if (cap > VSF_CONF_MAX_SIZE) {
				r = -E2BIG;
				break;
			}
			if (!(nb = realloc(buf, cap * 2))) {
				r = -ENOMEM;
				break;
			}
			buf = nb;
			cap *= 2;
		}
		n = read(fd, buf + got, cap - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			r = -errno;
		else if (n == 0)
			break;
		else
			got += (size_t)n;
	}
	close(fd);
	if (!buf)
		return -ENOMEM;
	if (r < 0) {
		snprintf(err, errlen, "%s: cannot read: %s", path,
			 strerror(-r));
		free(buf);
		return r;
	}
	r = vsf_conf_parse(buf, got, path, out, err, errlen);
	free(buf);
	return r;
}

struct vsf_conf_node *vsf_conf_free(struct vsf_conf_node *root)
{
	if (root) {
		nodes_free(root->child);
		free(root->name);
		free(root->value);
		/* the root is the first member of struct conf_root */
		free(root);
	}
	return NULL;
}

const struct vsf_conf_node *vsf_conf_child(const struct vsf_conf_node *n,
					   const char *name)
{
	const struct vsf_conf_node *c, *last = NULL;

	if (!n)
		return NULL;
	for (c = n->child; c; c = c->next)
		if (!strcasecmp(c->name, name))
			last = c;
	return last;
}

const struct vsf_conf_node *vsf_conf_find(const struct vsf_conf_node *n,
					  const char *path)
{
	char step[256];

	while (n && *path) {
		size_t len = strcspn(path, "/");

		if (len >= sizeof(step))
			return NULL;
		memcpy(step, path, len);
		step[len] = '\0';
		if (len)
			n = vsf_conf_child(n, step);
		path += len;
		if (*path == '/')
			path++;
	}
	return n;
}

const char *vsf_conf_get(const struct vsf_conf_node *n, const char *path)
{
	n = vsf_conf_find(n, path);
	return n ? n->value : NULL;
}

const struct vsf_conf_node *vsf_conf_next(const struct vsf_conf_node *parent,
					  const struct vsf_conf_node *prev,
					  const char *name)
{
	const struct vsf_conf_node *c;

	if (!parent)
		return NULL;
	for (c = prev ? prev->next : parent->child; c; c = c->next)
		if (!name || !strcasecmp(c->name, name))
			return c;
	return NULL;
}

static void dump_nodes(const struct vsf_conf_node *n, FILE *f, int depth)
{
	for (; n; n = n->next) {
		for (int i = 0; i < depth; i++)
			fputc('\t', f);
		fputs(n->name, f);
		if (n->value)
			fprintf(f, " = \"%s\"", n->value);
		if (n->child || !n->value) {
			fputs(" {\n", f);
			dump_nodes(n->child, f, depth + 1);
			for (int i = 0; i < depth; i++)
				fputc('\t', f);
			fputs("}\n", f);
		} else {
			fputs(";\n", f);
		}
	}
}

void vsf_conf_dump(const struct vsf_conf_node *root, FILE *f)
{
	if (root)
		dump_nodes(root->child, f, 0);
}

int vsf_conf_parse_uint(const char *s, unsigned long max, unsigned long *out)
{
	return vsf_parse_ulong(s, max, out);
}
