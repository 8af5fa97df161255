/*
 * fuzz_chan_xml - the daemon's domain-XML channel discovery
 * (fenced-host/chan_xml.c) on arbitrary XML.  Invariants: at most
 * VSF_CHAN_MAX_SOCKS distinct paths, each passing the path filter.
 */
#include "config.h"

#include <string.h>

#include <libxml/parser.h>

#include "fuzz.h"
#include "../../fenced-host/chan_xml.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const names[] = { "org.vsf.fence.0", NULL };
	struct vsf_chan_select sel = {
		.serial = true, .vmchannel = (size & 1) != 0,
		.path = (size & 2) ? "/run/fence" : NULL, .names = names,
	};
	struct vsf_chan_socks s;

	if (vsf_chan_xml_scan((const char *)data, size, &sel, &s) < 0)
		return 0;
	FUZZ_ASSERT(s.n <= VSF_CHAN_MAX_SOCKS);
	for (size_t i = 0; i < s.n; i++) {
		FUZZ_ASSERT(vsf_chan_path_matches(s.paths[i], sel.path));
		for (size_t j = 0; j < i; j++)
			FUZZ_ASSERT(strcmp(s.paths[i], s.paths[j]));
	}
	vsf_chan_socks_done(&s);
	return 0;
}
