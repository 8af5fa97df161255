/* util.h - tiny helpers shared by the daemon's files. */
#ifndef VSF_UTIL_H
#define VSF_UTIL_H

#include <stddef.h>
#include <string.h>

/* Copy at most size-1 bytes and always terminate (size > 0). */
static inline void vsf_strlcpy(char *dst, const char *src, size_t size)
{
	size_t i;

	for (i = 0; i + 1 < size && src[i]; i++)
		dst[i] = src[i];
	dst[i] = '\0';
}

#define VSF_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

#endif /* VSF_UTIL_H */
