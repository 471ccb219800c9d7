/*
 * fuzz_escape.c - chat_escape(), the one thing between a network message
 * and a chat log line.  For any bytes: the output is one line (no byte
 * below 0x20, no 0x7f), is valid UTF-8, escapes only what the SPEC says
 * (never a printable ASCII byte), unescapes to the input, and is
 * unchanged valid UTF-8 text when there was nothing to escape.  With a
 * short buffer (byte 0 picks it) the output is a NUL-terminated prefix of
 * the full one that never ends in half an escape or half a character.
 */
#include "config.h"

#include "fuzz.h"
#include "chat_line.h"

/* Length of the well-formed UTF-8 sequence at p (RFC 3629), else 0. */
static size_t
utf8_len(const unsigned char *p, size_t left)
{
	uint32_t cp;
	size_t n;

	if (p[0] < 0x80)
		return 1;
	if ((p[0] & 0xe0) == 0xc0)
		n = 2, cp = p[0] & 0x1f;
	else if ((p[0] & 0xf0) == 0xe0)
		n = 3, cp = p[0] & 0x0f;
	else if ((p[0] & 0xf8) == 0xf0)
		n = 4, cp = p[0] & 0x07;
	else
		return 0;
	if (left < n)
		return 0;
	for (size_t i = 1; i < n; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (p[i] & 0x3f);
	}
	if ((n == 2 && cp < 0x80) || (n == 3 && cp < 0x800) ||
	    (n == 4 && cp < 0x10000) || cp > 0x10ffff ||
	    (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return n;
}

static int
valid_utf8(const unsigned char *p, size_t len)
{
	for (size_t i = 0, n; i < len; i += n)
		if ((n = utf8_len(p + i, len - i)) == 0)
			return 0;
	return 1;
}

/* Nothing to escape: valid UTF-8 without control bytes or backslash. */
static int
plain(const unsigned char *p, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (p[i] < 0x20 || p[i] == 0x7f || p[i] == '\\')
			return 0;
	return valid_utf8(p, len);
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t cap, full, total, part, olen;
	unsigned char *back;
	char *out, *small;
	long blen;

	if (size == 0)
		return 0;
	cap = data[0];
	data++;
	size--;

	full = 4 * size + 1;
	out = malloc(full);
	back = malloc(size + 1);
	FUZZ_CHECK(out != NULL && back != NULL);
	total = chat_escape(data, size, out, full);
	FUZZ_CHECK(total <= 4 * size);
	olen = strlen(out);
	FUZZ_CHECK(olen == total);
	for (size_t i = 0; i < total; i++)
		FUZZ_CHECK((unsigned char)out[i] >= 0x20 &&
		    (unsigned char)out[i] != 0x7f);
	FUZZ_CHECK(valid_utf8((const unsigned char *)out, total));
	/* Every \xhh stands for a byte that had to be escaped. */
	for (size_t i = 0; i + 1 < total; i++) {
		if (out[i] != '\\')
			continue;
		if (out[i + 1] == '\\') {
			i++;
			continue;
		}
		FUZZ_CHECK(out[i + 1] == 'x' && i + 3 < total);
		{
			unsigned v = (unsigned)strtoul((char[]){ out[i + 2],
			    out[i + 3], 0 }, NULL, 16);

			FUZZ_CHECK(v < 0x20 || v == 0x7f || v >= 0x80);
		}
		i += 3;
	}
	blen = fuzz_unescape(out, total, back);
	FUZZ_CHECK(blen == (long)size);
	FUZZ_CHECK(size == 0 || memcmp(back, data, size) == 0);
	if (plain(data, size))
		FUZZ_CHECK(total == size && memcmp(out, data, size) == 0);

	/* A short buffer: a clean prefix, the same total. */
	small = malloc(cap);
	FUZZ_CHECK(small != NULL || cap == 0);
	FUZZ_CHECK(chat_escape(data, size, small, cap) == total);
	if (cap > 0) {
		part = strnlen(small, cap);
		FUZZ_CHECK(part < cap);
		FUZZ_CHECK(memcmp(small, out, part) == 0);
		if (total < cap)
			FUZZ_CHECK(part == total);
		/* It ends between two whole pieces: it unescapes, and to a
		 * prefix of the input, and what was cut would not fit. */
		blen = fuzz_unescape(small, part, back);
		FUZZ_CHECK(blen >= 0 && (size_t)blen <= size);
		FUZZ_CHECK(blen == 0 || memcmp(back, data, (size_t)blen) == 0);
		FUZZ_CHECK(valid_utf8((const unsigned char *)small, part));
		if (part < total)
			FUZZ_CHECK(part + 4 >= cap && total >= cap);
	}
	free(small);
	free(back);
	free(out);
	return 0;
}
