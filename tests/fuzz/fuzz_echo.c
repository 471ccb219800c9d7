/*
 * fuzz_echo.c - the echo module: the reply is the request, byte for byte,
 * whenever it fits (byte 0 picks the reply capacity, the rest is the
 * datagram).
 */
#include "config.h"

#include "fuzz.h"

static void *echo;

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	echo = fuzz_instance(&module_echo, "", NULL);
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_reply r;
	socklen_t plen;
	const struct sockaddr *peer = fuzz_peer_v4(&plen);
	size_t cap;

	if (size == 0)
		return 0;
	cap = fuzz_cap(data[0]);
	fuzz_handle(&module_echo, echo, data + 1, size - 1, cap, peer, plen,
	    &fuzz_now, &r);
	if (size - 1 <= cap) {
		FUZZ_CHECK(r.verdict == UDPD_REPLY);
		FUZZ_CHECK(r.len == size - 1);
		FUZZ_CHECK(r.len == 0 || memcmp(r.buf, data + 1, r.len) == 0);
	} else
		FUZZ_CHECK(r.verdict == UDPD_DROP ||
		    r.verdict == UDPD_DROP_SILENT);
	free(r.buf);
	return 0;
}
