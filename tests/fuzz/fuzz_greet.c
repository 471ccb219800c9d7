/*
 * fuzz_greet.c - the greet module, with the default texts and with a
 * configured template holding "%%".  Byte 0 picks the instance, byte 1
 * the reply capacity, the rest is the datagram.  The reply must be the
 * SPEC's text exactly, or, when that cannot fit, an error line or a drop.
 */
#include "config.h"

#include "fuzz.h"

struct greet_case {
	const char	*body;
	const char	*before, *after, *farewell;
	void		*inst;
};

static struct greet_case cases[] = {
	{ "", "Hello ", "!\n", "Good bye!\n", NULL },
	{ "greeting = \"<%s> 100%% sure\"; farewell = \"Ciao\";",
	    "<", "> 100% sure\n", "Ciao\n", NULL },
};

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		cases[i].inst = fuzz_instance(&module_greet, cases[i].body,
		    NULL);
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const struct greet_case *gc;
	struct fuzz_reply r;
	socklen_t plen;
	const struct sockaddr *peer = fuzz_peer_v4(&plen);
	const uint8_t *name;
	unsigned char *want;
	size_t cap, nlen, wlen, bl, al;

	if (size < 2)
		return 0;
	gc = &cases[data[0] % (sizeof(cases) / sizeof(cases[0]))];
	cap = fuzz_cap(data[1]);
	data += 2;
	size -= 2;
	fuzz_handle(&module_greet, gc->inst, data, size, cap, peer, plen,
	    &fuzz_now, &r);

	/* The SPEC's reply, built independently. */
	name = data;
	nlen = size;
	if (nlen > 0 && name[nlen - 1] == '\n') {
		nlen--;
		if (nlen > 0 && name[nlen - 1] == '\r')
			nlen--;
	}
	bl = strlen(gc->before);
	al = strlen(gc->after);
	if ((want = malloc(bl + nlen + al + 16)) == NULL)
		abort();
	if (nlen == 4 && memcmp(name, "exit", 4) == 0) {
		wlen = strlen(gc->farewell);
		memcpy(want, gc->farewell, wlen);
	} else {
		if (nlen == 0) {
			name = (const uint8_t *)"world";
			nlen = 5;
		}
		memcpy(want, gc->before, bl);
		memcpy(want + bl, name, nlen);
		memcpy(want + bl + nlen, gc->after, al);
		wlen = bl + nlen + al;
	}
	if (wlen <= cap) {
		FUZZ_CHECK(r.verdict == UDPD_REPLY);
		FUZZ_CHECK(r.len == wlen);
		FUZZ_CHECK(memcmp(r.buf, want, wlen) == 0);
	} else if (r.verdict == UDPD_REPLY_ERROR)
		FUZZ_CHECK(fuzz_is_error_line(r.buf, r.len));
	else
		FUZZ_CHECK(r.verdict == UDPD_DROP);
	free(want);
	free(r.buf);
	return 0;
}
