/*
 * chat_line.h - the chat log's line format and its escaping, one copy
 * shared by every chat store (a leaf: it includes nothing of ours but
 * addr.h).  A line is "<seq> <YYYY-MM-DDTHH:MM:SS.mmmZ> <ip>:<port>
 * <escaped text>\n"; the protocol formats everything after "<seq> " (the
 * suffix) before it asks a store, which alone knows the seq.
 */
#ifndef UDPD_CHAT_LINE_H
#define UDPD_CHAT_LINE_H

#include <sys/types.h>
#include <sys/socket.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

/*
 * Room for "<seq> <time> <peer> " before the text: a 20-digit seq, a
 * timestamp (24 bytes for years 0-9999) and "[v6addr%scope]:port".
 */
#define CHAT_PREFIX_MAX	160
/* The longest line chat ever writes: every byte of a 65507-byte message
 * escaped to four, plus the prefix and the "\n". */
#define CHAT_LINE_MAX	(CHAT_PREFIX_MAX + 4 * 65507 + 1)
/* The longest seq, UINT64_MAX in decimal. */
#define CHAT_SEQ_DIGITS	20

/*
 * Escapes len bytes of in into out for one log line: "\" becomes "\\",
 * control bytes (0x00-0x1f, tab included, and 0x7f) and every byte that is
 * not part of valid UTF-8 (overlongs, surrogates, code points above
 * U+10FFFF, stray or missing continuation bytes) become "\xhh" (lower-case
 * hex); valid UTF-8 is copied unchanged.  The output never holds a "\n".
 *
 * Returns the length of the complete escaped text, without the NUL, like
 * snprintf: at most 4 * len, so an out of 4 * len + 1 bytes always holds it.
 * When cap is too small the output stops before the first escape or UTF-8
 * sequence that does not fit whole (never half a "\xhh" or half a
 * character), is NUL-terminated if cap > 0, and the return value is >= cap.
 */
size_t	chat_escape(const unsigned char *in, size_t len, char *out,
	    size_t cap);

/*
 * Formats what follows "<seq> " in a line,
 * "<YYYY-MM-DDTHH:MM:SS.mmmZ> <ip>:<port> <escaped text>\n": time in UTC
 * with milliseconds truncated, IPv6 peers as "[addr]:port" (with
 * "%<scope id>" for a scoped address), an IPv4-mapped IPv6 peer as plain
 * IPv4, an unknown or short address as "?:0".  Returns its length (no NUL
 * is counted or needed), or 0 if it does not fit in cap;
 * CHAT_PREFIX_MAX + 4 * len + 1 always fits.
 */
size_t	chat_format_suffix(char *out, size_t cap, const struct timespec *ts,
	    const struct sockaddr *peer, socklen_t peerlen,
	    const unsigned char *text, size_t len);

/* "<seq> " and the suffix: one whole line, as chat_format_suffix(). */
size_t	chat_format_line(char *out, size_t cap, uint64_t seq,
	    const struct timespec *ts, const struct sockaddr *peer,
	    socklen_t peerlen, const unsigned char *text, size_t len);

/*
 * Reads the seq at the start of p[0..n) followed by term: 1 to 20 digits,
 * no leading zero, no overflow.  0, or -1 if there is none.
 */
int	chat_parse_seq(const char *p, size_t n, char term, uint64_t *seq);

#endif
