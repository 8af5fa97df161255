/* metadata.c - metadata XML and usage text from one table; see metadata.h. */
#include "config.h"

#include <string.h>

#include "metadata.h"
#include "options.h"

struct param {
	const char *name;
	const char *letter;	/* "-d", or "" for stdin-only keys */
	const char *arg;	/* usage placeholder, NULL for flags */
	const char *type;	/* "string", "boolean", "integer" */
	const char *def;	/* default, or NULL */
	const char *extra;	/* extra attributes, e.g. required="1" */
	const char *desc;
};

/* fence_virt's parameters first, in its order, then ours. */
static const struct param params[] = {
	{ "debug", "-d", NULL, "boolean", NULL, "",
	  "Specify (stdin) or increment (command line) debug level" },
	{ "serial_device", "-D", "<device>", "string", NULL, "",
	  "Port to the host: virtio-serial port, tty or unix socket path "
	  "(default: the port named by port_name)" },
	{ "serial_params", "-P", "<param>", "string", "115200,8N1", "",
	  "Serial parameters for a tty (default=115200,8N1)" },
	{ "channel_address", "-A", "<address>", "string", "10.0.2.179", "",
	  "VM Channel IP address; set it to use VMChannel TCP instead of a "
	  "port (default=10.0.2.179)" },
	{ "ipport", "-p", "<port>", "string", "1229", "",
	  "TCP, VMChannel, or VM socket port (default=1229)" },
	{ "plug", "-n", "<domain>", "string", NULL,
	  " required=\"1\" obsoletes=\"port\"",
	  "Virtual Machine (domain name) to fence" },
	{ "port", "-H", "<domain>", "string", NULL,
	  " required=\"1\" deprecated=\"1\"",
	  "Virtual Machine (domain name) to fence" },
	{ "action", "-o", "<operation>", "string", "reboot", "",
	  "Fencing action (null, off, on, [reboot], status, list, "
	  "list-status, monitor, validate-all, metadata)" },
	{ "timeout", "-t", "<timeout>", "string", "30", "",
	  "Fencing timeout, bounding the whole call (in seconds; default=30)" },
	{ "ipaddr", "-T", "<address>", "string", "127.0.0.1", "",
	  "IP address to connect to in TCP mode (default=127.0.0.1)" },
	{ "vsock", "-S", "<cid>", "integer", "2", "",
	  "vm socket CID to connect to in vsock mode" },
	{ "auth", "-C", "<auth>", "string", "sha256", "",
	  "Authentication for TCP/vsock (none, sha1, [sha256], sha512)" },
	{ "hash", "-c", "<hash>", "string", "sha256", "",
	  "Packet hash strength for TCP/vsock (none, sha1, [sha256], "
	  "sha512)" },
	{ "key_file", "-k", "<file>", "string", AGENT_DEFAULT_KEY_FILE, "",
	  "Shared key file; also the protocol v2 key "
	  "(default=" AGENT_DEFAULT_KEY_FILE ")" },
	{ "delay", "-w", "<delay>", "string", "0", "",
	  "Fencing delay before on/off/reboot (in seconds; default=0)" },
	{ "domain", "", NULL, "string", NULL, " deprecated=\"1\"",
	  "Virtual Machine (domain name) to fence (deprecated; use plug)" },
	{ "port_name", "-N", "<name>", "string", AGENT_DEFAULT_PORT_NAME, "",
	  "virtio-serial port name, found in /dev/virtio-ports or "
	  "/sys/class/virtio-ports (default=" AGENT_DEFAULT_PORT_NAME ")" },
	{ "protocol", "-R", "<version>", "string", "auto", "",
	  "Port protocol: auto (v2, falling back to v1 for stock "
	  "fence_virtd), 1 or 2 (default=auto)" },
};

static const char *const actions[] = {
	"null", "on", "off", "reboot", "metadata", "status", "monitor",
	"list", "list-status", "validate-all",
};

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

static void print_param(FILE *out, const struct param *p)
{
	fprintf(out, "\t<parameter name=\"%s\" unique=\"0\"%s%s>\n", p->name,
		strstr(p->extra, "required") ? "" : " required=\"0\"",
		p->extra);
	fprintf(out, "\t\t<getopt mixed=\"%s\" />\n", p->letter);
	if (p->def)
		fprintf(out, "\t\t<content type=\"%s\" default=\"%s\" />\n",
			p->type, p->def);
	else
		fprintf(out, "\t\t<content type=\"%s\" />\n", p->type);
	fprintf(out, "\t\t<shortdesc lang=\"en\">%s</shortdesc>\n", p->desc);
	fprintf(out, "\t</parameter>\n");
}

void agent_metadata_print(FILE *out)
{
	fprintf(out, "<?xml version=\"1.0\" ?>\n"
		"<resource-agent name=\"fence_vserial\" shortdesc=\"Fence "
		"agent for virtual machines over a virtio-serial port\">\n"
		"<longdesc>fence_vserial is a power fencing agent for KVM/QEMU "
		"guests. It sends the fence request to the host daemon over a "
		"virtio-serial port (protocol v2 with HMAC-SHA-256, falling back "
		"to fence_virt's serial protocol for a stock fence_virtd), or "
		"over TCP or vsock like fence_virt.\n\n"
		"NOTE: reboot-action does not power on nodes that are powered "
		"off.</longdesc>\n"
		"<vendor-url>https://libvirt.org</vendor-url>\n"
		"<parameters>\n");
	for (size_t i = 0; i < ARRAY_SIZE(params); i++)
		print_param(out, &params[i]);
	fprintf(out, "</parameters>\n<actions>\n");
	for (size_t i = 0; i < ARRAY_SIZE(actions); i++)
		fprintf(out, "\t<action name=\"%s\" />\n", actions[i]);
	fprintf(out, "</actions>\n</resource-agent>\n");
}

void agent_usage_print(FILE *out, const char *prog)
{
	char opt[32];

	fprintf(out, "usage: %s [args]\n\n", prog);
	for (size_t i = 0; i < ARRAY_SIZE(params); i++) {
		if (!params[i].letter[0])
			continue;
		snprintf(opt, sizeof(opt), "%s %s", params[i].letter,
			 params[i].arg ? params[i].arg : "");
		fprintf(out, "  %-21s %s\n", opt, params[i].desc);
	}
	fprintf(out, "  %-21s %s\n  %-21s %s\n", "-h", "Help", "-V",
		"Display version and exit");
	fprintf(out, "\nWith no command line argument, arguments are read "
		"from standard input\nas key=value lines:\n\n");
	for (size_t i = 0; i < ARRAY_SIZE(params); i++)
		fprintf(out, "  %-21s %s\n", params[i].name, params[i].desc);
}
