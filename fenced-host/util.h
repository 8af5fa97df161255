/* util.h - tiny helpers shared by the daemon's files. */
#ifndef VSF_UTIL_H
#define VSF_UTIL_H

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* Copy at most size-1 bytes and always terminate (size > 0). */
static inline void vsf_strlcpy(char *dst, const char *src, size_t size)
{
	size_t i;

	for (i = 0; i + 1 < size && src[i]; i++)
		dst[i] = src[i];
	dst[i] = '\0';
}

/*
 * Append @n bytes to the growable buffer (*@buf, *@len used, *@cap
 * allocated), doubling from 256 bytes.  0, or -ENOMEM with the buffer
 * unchanged.  The listeners' outgoing queues.
 */
static inline int vsf_buf_append(uint8_t **buf, size_t *len, size_t *cap,
				 const void *p, size_t n)
{
	if (*len + n > *cap) {
		size_t c = *cap ? *cap * 2 : 256;
		uint8_t *b;

		while (c < *len + n)
			c *= 2;
		if (!(b = realloc(*buf, c)))
			return -ENOMEM;
		*buf = b;
		*cap = c;
	}
	memcpy(*buf + *len, p, n);
	*len += n;
	return 0;
}

#define VSF_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

#endif /* VSF_UTIL_H */
