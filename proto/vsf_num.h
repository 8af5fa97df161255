/*
 * vsf_num.h - the one checked decimal parser for options, stdin keys and
 * config values (agent, daemon, key tool): never atoi or a bare strtoul.
 *
 * Accepts only a non-empty run of ASCII digits whose value is at most @max:
 * no sign, no leading blanks, no trailing junk, no wrap-around.  Returns 0
 * and sets *@out, -EINVAL for junk (including ""), -ERANGE above @max;
 * *@out is left alone on error.
 */
#ifndef VSF_NUM_H
#define VSF_NUM_H

#include <errno.h>

static inline int vsf_parse_ulong(const char *s, unsigned long max,
				  unsigned long *out)
{
	unsigned long v = 0;

	if (!s || !*s)
		return -EINVAL;
	for (; *s; s++) {
		unsigned long d;

		if (*s < '0' || *s > '9')
			return -EINVAL;
		d = (unsigned long)(*s - '0');
		if (v > max / 10 || v * 10 > max - d)
			return -ERANGE;
		v = v * 10 + d;
	}
	*out = v;
	return 0;
}

#endif /* VSF_NUM_H */
