/*
 * chat_redis_history.c - the text of a /history reply from the room's
 * XREVRANGE answer (pure): the "line" field of each entry, its control
 * bytes escaped, as many of the newest lines as fit, oldest first.
 */
#include "config.h"

#include <string.h>

#include <hiredis/hiredis.h>

#include "chat_redis_history.h"

/* The "line" field of one XREVRANGE entry, or NULL. */
static const redisReply *
chat_redis_entry_line(const redisReply *e)
{
	const redisReply *f;

	if (e->type != REDIS_REPLY_ARRAY || e->elements != 2 ||
	    e->element[1]->type != REDIS_REPLY_ARRAY)
		return NULL;
	f = e->element[1];
	for (size_t i = 0; i + 1 < f->elements; i += 2)
		if (f->element[i]->type == REDIS_REPLY_STRING &&
		    f->element[i]->len == 4 &&
		    memcmp(f->element[i]->str, "line", 4) == 0 &&
		    f->element[i + 1]->type == REDIS_REPLY_STRING)
			return f->element[i + 1];
	return NULL;
}

/*
 * A line as it goes into a /history reply: udpd's lines hold no control
 * byte (chat_line.h escapes them), so one that does was written by
 * something else, and each such byte (a raw "\n", "\r", NUL) becomes
 * "\xhh", as the line format writes them: an entry can never forge a line
 * or a terminal sequence.  Returns the length; out (if not NULL) gets it.
 */
static size_t
chat_redis_line_copy(const redisReply *line, char *out)
{
	static const char hex[] = "0123456789abcdef";
	size_t o = 0;

	for (size_t i = 0; i < line->len; i++) {
		unsigned char c = (unsigned char)line->str[i];

		if (c >= 0x20 && c != 0x7f) {
			if (out != NULL)
				out[o] = (char)c;
			o++;
			continue;
		}
		if (out != NULL) {
			out[o] = '\\';
			out[o + 1] = 'x';
			out[o + 2] = hex[c >> 4];
			out[o + 3] = hex[c & 0xf];
		}
		o += 4;
	}
	return o;
}

/*
 * The newest entries come first: as many lines as fit in limit, then
 * written out oldest first, each with its "\n" (the file store's
 * /history: whole oldest lines dropped; a newest line too long for the
 * reply leaves it empty).
 */
size_t
chat_redis_history_text(const redisReply *rep, size_t count, size_t limit,
    char *out)
{
	const redisReply *line;
	size_t total = 0, taken = 0, i, o = 0, n;

	for (i = 0; i < rep->elements && taken < count; i++) {
		if ((line = chat_redis_entry_line(rep->element[i])) == NULL)
			continue;
		n = chat_redis_line_copy(line, NULL);
		if (n + 1 > limit || total + n + 1 > limit)
			break;
		total += n + 1;
		taken++;
	}
	while (i-- > 0) {
		if ((line = chat_redis_entry_line(rep->element[i])) == NULL)
			continue;
		o += chat_redis_line_copy(line, out + o);
		out[o++] = '\n';
	}
	return o;
}
