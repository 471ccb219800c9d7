/*
 * mod_chat.h - the pure helpers of the chat module, exposed for the unit
 * tests and fuzzers.  The module itself is module_chat (module.h).
 */
#ifndef UDPD_MOD_CHAT_H
#define UDPD_MOD_CHAT_H

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
 * Formats one complete log line,
 * "<seq> <YYYY-MM-DDTHH:MM:SS.mmmZ> <ip>:<port> <escaped text>\n", into out:
 * time in UTC with milliseconds truncated, IPv6 peers as "[addr]:port"
 * (with "%<scope id>" for a scoped address), an IPv4-mapped IPv6 peer as
 * plain IPv4, an unknown or short address as "?:0".  Returns the line's
 * length (no NUL is counted or needed), or 0 if it does not fit in cap;
 * CHAT_PREFIX_MAX + 4 * len + 1 always fits.
 */
size_t	chat_format_line(char *out, size_t cap, uint64_t seq,
	    const struct timespec *ts, const struct sockaddr *peer,
	    socklen_t peerlen, const unsigned char *text, size_t len);

/*
 * Finds where a chat log's sequence continues.  *good_end is set to the
 * offset just after the last "\n" (0 if none): bytes past it are a torn
 * last line that the caller must set aside before appending.  *last_seq is
 * the seq of the last complete line, 0 for a file without one.  Files that
 * are not regular (/dev/null) count as empty.
 *
 * Returns 0, or -1 with errno: EBADMSG when the last complete line does
 * not start with "<seq> " (1 to 20 digits, no leading zero, at most
 * 2^64-1), EOVERFLOW when the torn tail is longer than CHAT_LINE_MAX (no
 * chat log ends like that), or a read error.
 */
int	chat_recover(int fd, uint64_t *last_seq, off_t *good_end);

#endif
