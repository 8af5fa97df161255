/* chan_xml_test.c - socket discovery from domain XML, stock rules. */
#include "config.h"

#include <errno.h>
#include <string.h>

#include "chan_xml.h"
#include "check.h"

static const char dom[] =
	"<domain type='test'><name>g1</name><devices>"
	"<serial type='unix'><source mode='bind' path='/run/fence/g1.sock'/>"
	"<target port='1'/></serial>"
	"<console type='unix'><source mode='bind' path='/run/fence/g1.sock'/>"
	"</console>"
	"<console type='unix'><source mode='bind' path='/run/fence/sub/con.sock'/>"
	"</console>"
	"<serial type='unix'><source mode='connect' path='/run/fence/c.sock'/>"
	"</serial>"
	"<serial type='pty'/>"
	"<channel type='unix'><source mode='bind' path='/run/fence/gfwd'/>"
	"<target type='guestfwd' address='10.0.2.179' port='1229'/></channel>"
	"<channel type='unix'><source mode='bind' path='/var/lib/qga.sock'/>"
	"<target type='virtio' name='org.qemu.guest_agent.0'/></channel>"
	"<channel type='unix'><source mode='bind' path='/run/vsf/p.sock'/>"
	"<target type='virtio' name='org.vserial.fence.0'/></channel>"
	"</devices></domain>";

static struct vsf_chan_socks scan(const struct vsf_chan_select *sel, int *r)
{
	struct vsf_chan_socks s;

	*r = vsf_chan_xml_scan(dom, strlen(dom), sel, &s);
	return s;
}

TEST(mode_serial_takes_unix_bind_serial_and_console_once_each)
{
	struct vsf_chan_select sel = { .serial = true };
	int r;
	struct vsf_chan_socks s = scan(&sel, &r);

	CHECK_ERR(r, 0);
	CHECK_ERR(s.n, 2);
	CHECK_STR(s.paths[0], "/run/fence/g1.sock");
	CHECK_STR(s.paths[1], "/run/fence/sub/con.sock");
	vsf_chan_socks_done(&s);
}

TEST(path_filter_is_the_direct_parent_only)
{
	struct vsf_chan_select sel = { .serial = true, .path = "/run/fence/" };
	int r;
	struct vsf_chan_socks s = scan(&sel, &r);

	CHECK_ERR(s.n, 1);
	CHECK_STR(s.paths[0], "/run/fence/g1.sock");
	vsf_chan_socks_done(&s);
	CHECK(vsf_chan_path_matches("/a/b/c.sock", "a/b"));
	CHECK(vsf_chan_path_matches("//a/b/c.sock", "/a/b//"));
	CHECK(!vsf_chan_path_matches("/a/b/c/d.sock", "/a/b"));
	CHECK(!vsf_chan_path_matches("/a/bc/d.sock", "/a/b"));
	CHECK(!vsf_chan_path_matches("d.sock", "/a"));
}

TEST(mode_vmchannel_takes_every_unix_bind_channel_whatever_the_target)
{
	struct vsf_chan_select sel = { .vmchannel = true };
	int r;
	struct vsf_chan_socks s = scan(&sel, &r);

	CHECK_ERR(s.n, 3);
	CHECK_STR(s.paths[0], "/run/fence/gfwd");
	CHECK_STR(s.paths[1], "/var/lib/qga.sock");
	CHECK_STR(s.paths[2], "/run/vsf/p.sock");
	vsf_chan_socks_done(&s);
}

TEST(virtio_port_names_select_only_those_channels)
{
	static const char *const names[] = { "org.vserial.fence.0", NULL };
	struct vsf_chan_select sel = { .names = names };
	int r;
	struct vsf_chan_socks s = scan(&sel, &r);

	CHECK_ERR(s.n, 1);
	CHECK_STR(s.paths[0], "/run/vsf/p.sock");
	vsf_chan_socks_done(&s);
}

TEST(bad_xml_is_rejected)
{
	struct vsf_chan_select sel = { .serial = true };
	struct vsf_chan_socks s;

	CHECK_ERR(vsf_chan_xml_scan("<domain>", 8, &sel, &s), -EINVAL);
	CHECK_ERR(vsf_chan_xml_scan("<x/>", 4, &sel, &s), -EINVAL);
	CHECK_ERR(vsf_chan_xml_scan("<domain/>", 9, &sel, &s), 0);
	CHECK_ERR(s.n, 0);
}

int main(void)
{
	return RUN_TESTS();
}
