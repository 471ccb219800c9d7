/*
 * conf_text.h - checks on the raw text of a config file, before libconfig
 * reads it, for what libconfig 1.5 would get wrong without a word: a NUL
 * in a string (a "\x00" escape is dropped, a NUL byte cuts the string
 * short), an @include whose file cannot be opened (reported without its
 * name or the reason), and a path that is no regular file.
 */
#ifndef UDPD_CONF_TEXT_H
#define UDPD_CONF_TEXT_H

#include "conf_util.h"

/* Deepest @include nesting followed (libconfig's own limit). */
#define CONF_TEXT_MAX_DEPTH	10

/*
 * Checks path and, recursively, the files it @includes (their names are
 * relative to include_dir, as libconfig resolves them).  Returns 0, or -1
 * with "FILE: cannot read: reason" or "FILE:LINE: syntax: message" in err.
 */
int	conf_text_check(const char *path, const char *include_dir,
	    struct conf_err *err);

#endif
