/*
 * conf_text.c - a small scanner over the config text that knows comments,
 * strings and @include lines, and nothing else: libconfig does the parsing.
 */
#include "config.h"

#include <sys/stat.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conf_text.h"

/* Larger files are left to libconfig (no config is anywhere near). */
#define CONF_TEXT_MAX	(16 * 1024 * 1024)

struct scan {
	const char	*path;
	const char	*include_dir;
	const char	*p, *end;
	int		 line;
	int		 depth;
	struct conf_err	*err;
};

static int	text_check_file(const char *path, const char *include_dir,
		    int depth, struct conf_err *err, int *errnum);

static int
scan_error(struct scan *s, const char *what)
{
	snprintf(s->err->msg, sizeof(s->err->msg), "%.150s:%d: syntax: %.330s",
	    s->path, s->line, what);
	return -1;
}

/* Reads a file whole; NULL with errno (EISDIR for a directory). */
static char *
text_read(const char *path, size_t *len)
{
	struct stat st;
	char *buf = NULL;
	size_t cap;
	ssize_t n;
	int fd, saved;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return NULL;
	if (fstat(fd, &st) < 0)
		goto fail;
	if (S_ISDIR(st.st_mode)) {
		errno = EISDIR;
		goto fail;
	}
	cap = st.st_size > 0 && st.st_size < CONF_TEXT_MAX ?
	    (size_t)st.st_size : CONF_TEXT_MAX;
	if ((buf = malloc(cap + 1)) == NULL)
		goto fail;
	for (*len = 0; *len < cap; *len += (size_t)n)
		if ((n = read(fd, buf + *len, cap - *len)) == 0)
			break;
		else if (n < 0 && errno == EINTR)
			n = 0;
		else if (n < 0)
			goto fail;
	close(fd);
	return buf;
fail:
	saved = errno;
	free(buf);
	close(fd);
	errno = saved;
	return NULL;
}

/* At '"' after @include: checks the named file, then the rest of line. */
static int
scan_include(struct scan *s)
{
	const char *name = s->p + 1, *q = memchr(name, '"', (size_t)(s->end -
	    name));
	char file[4096], full[8192], what[600];
	int errnum;

	if (q == NULL || (size_t)(q - name) >= sizeof(file))
		return 0;		/* libconfig will say what is wrong */
	memcpy(file, name, (size_t)(q - name));
	file[q - name] = '\0';
	if (memchr(file, '\n', strlen(file)) != NULL)
		return 0;
	/* libconfig 1.5 puts include_dir before every name, even "/x". */
	snprintf(full, sizeof(full), "%s/%s", s->include_dir, file);
	s->p = q + 1;
	if (s->depth + 1 >= CONF_TEXT_MAX_DEPTH) {
		snprintf(what, sizeof(what), "@include \"%.200s\": nested "
		    "more than %d deep", file, CONF_TEXT_MAX_DEPTH);
		return scan_error(s, what);
	}
	if (text_check_file(full, s->include_dir, s->depth + 1, s->err,
	    &errnum) == 0)
		return 0;
	if (errnum == 0)
		return -1;		/* an error inside the included file */
	snprintf(what, sizeof(what), "@include \"%.100s\": cannot open "
	    "%.150s: %.60s", file, full, strerror(errnum));
	return scan_error(s, what);
}

/* Inside a string, at '\\': a "\x00" escape is refused. */
static int
scan_escape(struct scan *s)
{
	if (s->end - s->p >= 4 && (s->p[1] == 'x' || s->p[1] == 'X') &&
	    s->p[2] == '0' && s->p[3] == '0')
		return scan_error(s, "a NUL (\\x00) in a string is not "
		    "allowed: libconfig would drop it");
	if (s->p + 1 < s->end && s->p[1] != '\n')
		s->p++;
	return 0;
}

/* From the opening '"' to just after the closing one. */
static int
scan_string(struct scan *s)
{
	for (s->p++; s->p < s->end && *s->p != '"'; s->p++) {
		if (*s->p == '\n')
			s->line++;
		else if (*s->p == '\0')
			return scan_error(s, "a NUL byte in a string is not "
			    "allowed: it would cut the string short");
		else if (*s->p == '\\' && scan_escape(s) < 0)
			return -1;
	}
	if (s->p < s->end)
		s->p++;
	return 0;
}

/* Past a comment that starts at p ('#', "//" or "/ *"). */
static void
scan_comment(struct scan *s)
{
	if (s->p[0] == '/' && s->p + 1 < s->end && s->p[1] == '*') {
		for (s->p += 2; s->p < s->end; s->p++) {
			if (*s->p == '\n')
				s->line++;
			else if (*s->p == '*' && s->p + 1 < s->end &&
			    s->p[1] == '/') {
				s->p += 2;
				return;
			}
		}
		return;
	}
	while (s->p < s->end && *s->p != '\n')
		s->p++;
}

/* "@include" then blanks then '"': the directive libconfig follows. */
static int
scan_at_include(const struct scan *s, const char **quote)
{
	const char *q = s->p + 8;

	if (s->end - s->p < 9 || memcmp(s->p, "@include", 8) != 0)
		return 0;
	while (q < s->end && (*q == ' ' || *q == '\t'))
		q++;
	if (q == s->p + 8 || q >= s->end || *q != '"')
		return 0;
	*quote = q;
	return 1;
}

static int
scan_text(struct scan *s)
{
	const char *quote;

	while (s->p < s->end) {
		char c = *s->p;

		if (c == '\0')
			return scan_error(s, "a NUL byte in the file");
		if (c == '\n') {
			s->line++;
			s->p++;
		} else if (c == '"') {
			if (scan_string(s) < 0)
				return -1;
		} else if (c == '#' || (c == '/' && s->p + 1 < s->end &&
		    (s->p[1] == '/' || s->p[1] == '*')))
			scan_comment(s);
		else if (c == '@' && scan_at_include(s, &quote)) {
			s->p = quote;
			if (scan_include(s) < 0)
				return -1;
		} else
			s->p++;
	}
	return 0;
}

/* Checks one file; a file that cannot be read sets *errnum, nothing else. */
static int
text_check_file(const char *path, const char *include_dir, int depth,
    struct conf_err *err, int *errnum)
{
	struct scan s = { .path = path, .include_dir = include_dir,
	    .line = 1, .depth = depth, .err = err };
	size_t len;
	char *buf = text_read(path, &len);
	int r;

	*errnum = 0;
	if (buf == NULL) {
		*errnum = errno;
		return -1;
	}
	s.p = buf;
	s.end = buf + len;
	r = scan_text(&s);
	free(buf);
	return r;
}

int
conf_text_check(const char *path, const char *include_dir,
    struct conf_err *err)
{
	int errnum;

	if (text_check_file(path, include_dir, 0, err, &errnum) == 0)
		return 0;
	if (errnum != 0)
		snprintf(err->msg, sizeof(err->msg), "%s: cannot read: %s",
		    path, strerror(errnum));
	return -1;
}
