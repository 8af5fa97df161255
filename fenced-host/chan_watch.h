/*
 * chan_watch.h - follows libvirt for the channel listener, on its own thread.
 *
 * Why a thread running libvirt's default event loop rather than
 * virEventRegisterImpl() hooked into our epoll: every libvirt call here
 * (open, list, GetXMLDesc, keepalive) is a blocking RPC, so it must leave
 * the loop thread anyway; libvirt's own loop is the implementation libvirt
 * tests and the one its keepalive handling is written against (fence-virt
 * PR #7 shows how a hand-rolled one goes wrong); and the reconnect logic
 * can block and back off here without touching the loop.  The thread only
 * posts small messages; the loop thread owns every socket.
 *
 * Messages, in order: SCAN_BEGIN, UP per running domain, SCAN_END after
 * each (re)connect; then UP/DOWN as domains start and stop (migration is
 * DOWN on the source host, UP on the destination); LOST when the libvirt
 * connection drops (the thread then reconnects with backoff and scans
 * again).  The loop thread keeps channels of domains seen since the last
 * SCAN_BEGIN and drops the rest at SCAN_END.  chan_watch_recheck() asks
 * about one domain again (a channel of it failed): the answer is UP with
 * @recheck set (it still runs; its channels as they are now) or DOWN (it
 * is gone or stopped).  Every UP lists all of the domain's channels,
 * unless @partial (its XML could not be read).
 */
#ifndef VSF_CHAN_WATCH_H
#define VSF_CHAN_WATCH_H

#include "chan_xml.h"

enum chan_msg_type {
	CHAN_MSG_SCAN_BEGIN,
	CHAN_MSG_UP,
	CHAN_MSG_DOWN,
	CHAN_MSG_SCAN_END,
	CHAN_MSG_LOST,
};

struct chan_msg {
	enum chan_msg_type type;
	char uuid[40];
	char name[64];
	struct vsf_chan_socks socks;	/* UP only */
	bool partial;			/* UP: XML unread, socks incomplete */
	bool recheck;			/* UP: answers chan_watch_recheck() */
	char text[200];			/* LOST: why */
	struct chan_msg *next;
};

struct chan_watch;

/*
 * Start watching @uri (NULL = libvirt's default).  @sel is copied.  The
 * returned object's fd (chan_watch_fd) becomes readable when messages wait.
 * virEventRegisterDefaultImpl() must have been called once by the process.
 */
struct chan_watch *chan_watch_start(const char *uri,
				    const struct vsf_chan_select *sel);
int chan_watch_fd(const struct chan_watch *w);
/*
 * Ask libvirt about domain @uuid again, soon (the watcher looks within
 * half a second, if connected; otherwise the rescan after the reconnect
 * answers).  Never blocks; a repeat while one is queued is dropped.
 */
void chan_watch_recheck(struct chan_watch *w, const char *uuid);
/* All waiting messages, oldest first; the caller frees them. */
struct chan_msg *chan_watch_take(struct chan_watch *w);
void chan_msg_free(struct chan_msg *m);
/* Stop the thread (within about half a second) and free everything. */
struct chan_watch *chan_watch_stop(struct chan_watch *w);

#endif /* VSF_CHAN_WATCH_H */
