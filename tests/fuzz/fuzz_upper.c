/*
 * fuzz_upper.c - the upper module: ASCII a-z become A-Z, every other byte
 * is unchanged, nothing is added or stripped (byte 0 picks the reply
 * capacity, the rest is the datagram).
 */
#include "config.h"

#include "fuzz.h"

static void *upper;

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	upper = fuzz_instance(&module_upper, "", NULL);
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
	data++;
	size--;
	fuzz_handle(&module_upper, upper, data, size, cap, peer, plen,
	    &fuzz_now, &r);
	if (size <= cap) {
		FUZZ_CHECK(r.verdict == UDPD_REPLY);
		FUZZ_CHECK(r.len == size);
		for (size_t i = 0; i < size; i++) {
			uint8_t want = data[i] >= 'a' && data[i] <= 'z' ?
			    (uint8_t)(data[i] - 'a' + 'A') : data[i];

			FUZZ_CHECK(r.buf[i] == want);
		}
	} else
		FUZZ_CHECK(r.verdict == UDPD_DROP ||
		    r.verdict == UDPD_DROP_SILENT);
	free(r.buf);
	return 0;
}
