/*
 * nts_ke_records.c - NTS-KE records (RFC 8915 section 4): a client's
 * request parsed, the server's response, Error and Warning written.
 * Each record is a 16-bit type (its top bit "critical"), a 16-bit body
 * length and the body, all big-endian.
 */
#include "config.h"

#include <string.h>

#include "nts_ke_records.h"
#include "wire.h"

static const char *const nts_ke_result_names[NTS_KE_NRESULTS] = {
	[NTS_KE_OK] = "ok",
	[NTS_KE_TLS] = "tls",
	[NTS_KE_BAD_REQUEST] = "bad_request",
	[NTS_KE_TIMEOUT] = "timeout",
	[NTS_KE_REFUSED] = "refused",
	[NTS_KE_INTERNAL] = "internal",
};

const char *
nts_ke_result_name(enum nts_ke_result r)
{
	return r < NTS_KE_NRESULTS ? nts_ke_result_names[r] : "?";
}

/* The AEAD algorithms udpd has, in its order of preference. */
static const uint16_t nts_ke_aeads[] = { NTS_KE_AEAD_SIV_CMAC_256 };

static int
nts_ke_have_aead(uint16_t id)
{
	for (size_t i = 0; i < sizeof(nts_ke_aeads) / sizeof(*nts_ke_aeads);
	    i++)
		if (nts_ke_aeads[i] == id)
			return 1;
	return 0;
}

/* A list of 16-bit ids: not empty, an even length. */
static int
nts_ke_id_list_ok(size_t len)
{
	return len > 0 && len % 2 == 0;
}

/* The state of a parse, across records. */
struct nts_ke_seen {
	int	next_proto;
	int	aead;
};

/* One record of the request: 0 on, or the status it ends the parse with. */
static enum nts_ke_status
nts_ke_record(uint16_t type, const uint8_t *body, size_t len,
    struct nts_ke_seen *seen, struct nts_ke_request *req)
{
	switch (type & ~NTS_KE_CRITICAL) {
	case NTS_KE_NEXT_PROTO:
		if (seen->next_proto++ || !nts_ke_id_list_ok(len))
			return NTS_KE_BAD;
		for (size_t i = 0; i < len; i += 2)
			if (wire_get16(body + i) == NTS_KE_PROTO_NTPV4)
				req->ntpv4 = 1;
		return NTS_KE_MORE;
	case NTS_KE_AEAD:
		if (seen->aead++ || !nts_ke_id_list_ok(len))
			return NTS_KE_BAD;
		req->has_aead = 1;
		for (size_t i = 0; i < len && req->aead == 0; i += 2)
			if (nts_ke_have_aead(wire_get16(body + i)))
				req->aead = wire_get16(body + i);
		return NTS_KE_MORE;
	case NTS_KE_ERROR:
	case NTS_KE_WARNING:
		return NTS_KE_BAD;	/* only a server sends them */
	case NTS_KE_PORT:
		return len == 2 ? NTS_KE_MORE : NTS_KE_BAD;
	case NTS_KE_SERVER:
		return len > 0 && len <= NTS_KE_SERVER_MAX ? NTS_KE_MORE :
		    NTS_KE_BAD;
	case NTS_KE_NEW_COOKIE:
		return NTS_KE_MORE;
	default:
		return (type & NTS_KE_CRITICAL) ? NTS_KE_UNRECOGNIZED :
		    NTS_KE_MORE;
	}
}

/* After End of Message at off: is the request whole and sensible? */
static enum nts_ke_status
nts_ke_end(size_t off, size_t len, const struct nts_ke_seen *seen,
    struct nts_ke_request *req)
{
	if (off != len || !seen->next_proto)
		return NTS_KE_BAD;
	if (req->ntpv4 && !req->has_aead)
		return NTS_KE_BAD;
	req->len = off;
	return NTS_KE_COMPLETE;
}

enum nts_ke_status
nts_ke_parse_request(const uint8_t *buf, size_t len,
    struct nts_ke_request *req)
{
	struct nts_ke_seen seen = { 0, 0 };
	size_t off = 0;

	memset(req, 0, sizeof(*req));
	if (len > NTS_KE_REQUEST_MAX)
		return NTS_KE_BAD;
	while (len - off >= 4) {
		uint16_t type = wire_get16(buf + off);
		size_t blen = wire_get16(buf + off + 2);
		enum nts_ke_status st;

		if (off + 4 + blen > NTS_KE_REQUEST_MAX)
			return NTS_KE_BAD;
		if (len - off - 4 < blen)
			return NTS_KE_MORE;
		off += 4;
		if ((type & ~NTS_KE_CRITICAL) == NTS_KE_END)
			return blen != 0 ? NTS_KE_BAD :
			    nts_ke_end(off, len, &seen, req);
		st = nts_ke_record(type, buf + off, blen, &seen, req);
		if (st != NTS_KE_MORE)
			return st;
		off += blen;
	}
	/* No End of Message yet: a full-sized message never gets one. */
	return len >= NTS_KE_REQUEST_MAX ? NTS_KE_BAD : NTS_KE_MORE;
}

/* A writer that stops at the first record that does not fit. */
struct nts_ke_out {
	uint8_t	*buf;
	size_t	 cap;
	size_t	 len;
	int	 full;
};

static void
nts_ke_put(struct nts_ke_out *o, uint16_t type, const void *body,
    size_t blen)
{
	if (o->full || blen > 0xffff || o->cap - o->len < 4 + blen) {
		o->full = 1;
		return;
	}
	wire_put16(o->buf + o->len, type);
	wire_put16(o->buf + o->len + 2, (uint16_t)blen);
	if (blen > 0)
		memcpy(o->buf + o->len + 4, body, blen);
	o->len += 4 + blen;
}

static void
nts_ke_put16(struct nts_ke_out *o, uint16_t type, uint16_t v)
{
	uint8_t b[2];

	wire_put16(b, v);
	nts_ke_put(o, type, b, sizeof(b));
}

static size_t
nts_ke_done(struct nts_ke_out *o)
{
	nts_ke_put(o, NTS_KE_END | NTS_KE_CRITICAL, NULL, 0);
	return o->full ? 0 : o->len;
}

size_t
nts_ke_write_response(const struct nts_ke_response *r, uint8_t *buf,
    size_t cap)
{
	struct nts_ke_out o = { buf, cap, 0, 0 };
	int cookies = r->ntpv4 && r->aead != 0;

	if (r->ntpv4)
		nts_ke_put16(&o, NTS_KE_NEXT_PROTO | NTS_KE_CRITICAL,
		    NTS_KE_PROTO_NTPV4);
	else
		nts_ke_put(&o, NTS_KE_NEXT_PROTO | NTS_KE_CRITICAL, NULL, 0);
	if (r->aead != 0)
		nts_ke_put16(&o, NTS_KE_AEAD | NTS_KE_CRITICAL, r->aead);
	else if (r->ntpv4)
		nts_ke_put(&o, NTS_KE_AEAD | NTS_KE_CRITICAL, NULL, 0);
	if (cookies && r->server != NULL) {
		size_t n = strlen(r->server);

		if (n == 0 || n > NTS_KE_SERVER_MAX)
			return 0;
		nts_ke_put(&o, NTS_KE_SERVER | NTS_KE_CRITICAL, r->server, n);
	}
	if (cookies && r->port != 0)
		nts_ke_put16(&o, NTS_KE_PORT | NTS_KE_CRITICAL, r->port);
	for (size_t i = 0; cookies && i < r->ncookies; i++)
		nts_ke_put(&o, NTS_KE_NEW_COOKIE,
		    r->cookies + i * r->cookie_len, r->cookie_len);
	return nts_ke_done(&o);
}

size_t
nts_ke_write_error(uint16_t code, uint8_t *buf, size_t cap)
{
	struct nts_ke_out o = { buf, cap, 0, 0 };

	nts_ke_put16(&o, NTS_KE_ERROR | NTS_KE_CRITICAL, code);
	return nts_ke_done(&o);
}

size_t
nts_ke_write_warning(uint16_t code, uint8_t *buf, size_t cap)
{
	struct nts_ke_out o = { buf, cap, 0, 0 };

	nts_ke_put16(&o, NTS_KE_WARNING | NTS_KE_CRITICAL, code);
	return nts_ke_done(&o);
}

void
nts_ke_exporter_context(uint16_t aead, int s2c,
    uint8_t out[NTS_KE_CONTEXT_LEN])
{
	wire_put16(out, NTS_KE_PROTO_NTPV4);
	wire_put16(out + 2, aead);
	out[4] = s2c ? 1 : 0;
}
