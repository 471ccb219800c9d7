/*
 * chat_file.h - the file store's pure reading of a chat log, exposed for
 * the unit tests.  The store itself is chat_file_store (chat_store.h).
 */
#ifndef UDPD_CHAT_FILE_H
#define UDPD_CHAT_FILE_H

#include <sys/types.h>
#include <stdint.h>

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
