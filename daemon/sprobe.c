/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Placeholder: the SCTP listener probes arrive in the next commits. */
#include "daemon/ctx.h"
#include "daemon/sprobe.h"
#include "daemon/subsys.h"

const struct subsys sprobe_subsys = {
	.name = "sctp_probe",
};

int sprobe_open(struct daemon *d, char *err, size_t errlen)
{
	(void)d;
	(void)err;
	(void)errlen;
	return 0;
}

void sprobe_close(struct daemon *d)
{
	(void)d;
}

int sprobe_fd(const struct daemon *d, int family_index)
{
	(void)d;
	(void)family_index;
	return -1;
}

void sprobe_input(struct daemon *d, int fd)
{
	(void)d;
	(void)fd;
}

int sprobe_listening(const struct daemon *d, uint8_t family, uint16_t port)
{
	(void)d;
	(void)family;
	(void)port;
	return -1;
}
