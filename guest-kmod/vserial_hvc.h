/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The part of the hvc console interface that vserial uses.
 *
 * drivers/tty/hvc/hvc_console.h is not shipped in the kernel headers
 * package, so an out-of-tree module has to declare what it calls.  The
 * struct layout below must match the running kernel's (checked against
 * Linux 6.1); struct hvc_struct stays opaque so its layout never matters.
 */
#ifndef VSERIAL_HVC_H
#define VSERIAL_HVC_H

#include <linux/types.h>

struct hvc_struct;

struct hv_ops {
	int (*get_chars)(u32 vtermno, char *buf, int count);
	int (*put_chars)(u32 vtermno, const char *buf, int count);
	int (*flush)(u32 vtermno, bool wait);
	int (*notifier_add)(struct hvc_struct *hp, int irq);
	void (*notifier_del)(struct hvc_struct *hp, int irq);
	void (*notifier_hangup)(struct hvc_struct *hp, int irq);
	int (*tiocmget)(struct hvc_struct *hp);
	int (*tiocmset)(struct hvc_struct *hp, unsigned int set,
			unsigned int clear);
	void (*dtr_rts)(struct hvc_struct *hp, int raise);
};

struct hvc_struct *hvc_alloc(u32 vtermno, int data, const struct hv_ops *ops,
			     int outbuf_size);
int hvc_remove(struct hvc_struct *hp);
int hvc_poll(struct hvc_struct *hp);
void hvc_kick(void);

#endif /* VSERIAL_HVC_H */
