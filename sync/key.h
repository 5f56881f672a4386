/* SPDX-License-Identifier: GPL-2.0-or-later */
/* key: loads the cluster key file (hex text, see clusterd.conf(5)) into the keys
 * that authenticate cluster messages. */
#ifndef CLUSTERD_KEY_H
#define CLUSTERD_KEY_H

#include <stddef.h>

#include "sync/wire.h"

/* Largest key file accepted, in bytes of text. */
#define KEY_FILE_MAX 4096

/* Reads PATH: at least 64 hex digits, whitespace ignored, mode without any
 * group/other bits.  32 bytes are the key as is; more are hashed down to 32
 * with crypto_generichash.  On success fills out->key[0], sets out->n = 1
 * and returns 0.  On failure returns -ENOENT/-EACCES/-EPERM (mode)/-EINVAL
 * (format)/-EFBIG or another -errno, leaves out zeroed and writes a message
 * naming the file to err. */
int key_load(const char *path, struct wire_keys *out, char *err, size_t errlen);

/* The same, from the text of a key file already read (the file checks
 * aside); name stands for the file in messages.  More than KEY_FILE_MAX
 * bytes is -EFBIG. */
int key_parse(const char *name, const void *text, size_t len, struct wire_keys *out, char *err,
	      size_t errlen);

#endif
