/*
 * metadata.h - the fence-agent metadata XML pacemaker reads.
 *
 * Every parameter of stock fence_virt is listed under the same name, with
 * the same option letter, so a stonith resource switches from fence_virt
 * to fence_vserial by changing only its type; ours are added after them.
 */
#ifndef AGENT_METADATA_H
#define AGENT_METADATA_H

#include <stdio.h>

void agent_metadata_print(FILE *out);

/* The same parameters as a usage text for -h. */
void agent_usage_print(FILE *out, const char *prog);

#endif /* AGENT_METADATA_H */
