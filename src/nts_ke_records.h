/*
 * nts_ke_records.h - the records of an NTS key exchange (RFC 8915
 * section 4): the parser of a client's request and the writer of the
 * server's response.  Pure: no TLS, no socket, no clock; nts_ke.c feeds it
 * the bytes read from the TLS connection and sends what it writes.
 */
#ifndef UDPD_NTS_KE_RECORDS_H
#define UDPD_NTS_KE_RECORDS_H

#include <stddef.h>
#include <stdint.h>

/* Record types (RFC 8915 section 7.6). */
#define NTS_KE_END		0	/* End of Message */
#define NTS_KE_NEXT_PROTO	1	/* NTS Next Protocol Negotiation */
#define NTS_KE_ERROR		2
#define NTS_KE_WARNING		3
#define NTS_KE_AEAD		4	/* AEAD Algorithm Negotiation */
#define NTS_KE_NEW_COOKIE	5	/* New Cookie for NTPv4 */
#define NTS_KE_SERVER		6	/* NTPv4 Server Negotiation */
#define NTS_KE_PORT		7	/* NTPv4 Port Negotiation */
#define NTS_KE_CRITICAL		0x8000	/* the critical bit of a type */

/* Error codes. */
#define NTS_KE_ERR_UNRECOGNIZED	0	/* unrecognized critical record */
#define NTS_KE_ERR_BAD_REQUEST	1
#define NTS_KE_ERR_INTERNAL	2

#define NTS_KE_PROTO_NTPV4	0
/* The AEAD algorithm udpd offers (RFC 5297 AES-SIV-CMAC-256). */
#define NTS_KE_AEAD_SIV_CMAC_256 15
/* Its key length: c2s and s2c are each that long. */
#define NTS_KE_KEY_LEN		32

/* The largest request accepted, records and End of Message together. */
#define NTS_KE_REQUEST_MAX	1024
/* The cookies a response carries (RFC 8915 section 4: eight). */
#define NTS_KE_COOKIES		8
/* The longest ntp_server name a response can carry (a DNS name). */
#define NTS_KE_SERVER_MAX	255

/* The TLS exporter's label and the length of its context. */
#define NTS_KE_EXPORTER_LABEL	"EXPORTER-network-time-security"
#define NTS_KE_CONTEXT_LEN	5

/* How a session ended (udpd_nts_ke_sessions_total's result label). */
enum nts_ke_result {
	NTS_KE_OK,		/* keys and cookies sent */
	NTS_KE_TLS,		/* handshake failed: version, ALPN, cert */
	NTS_KE_BAD_REQUEST,	/* Error record sent, or closed mid-request */
	NTS_KE_TIMEOUT,		/* a deadline passed */
	NTS_KE_REFUSED,		/* session cap, rate limit or access list */
	NTS_KE_INTERNAL,	/* no cookie could be made */
	NTS_KE_NRESULTS
};

/* The label of a result: "ok", "tls", "bad_request", ... */
const char *nts_ke_result_name(enum nts_ke_result r);

enum nts_ke_status {
	NTS_KE_MORE,		/* incomplete: read on */
	NTS_KE_COMPLETE,	/* a whole request, End of Message seen */
	NTS_KE_UNRECOGNIZED,	/* answer Error 0 */
	NTS_KE_BAD		/* answer Error 1 */
};

/* What a complete request asked for. */
struct nts_ke_request {
	int		ntpv4;		/* NTPv4 offered in Next Protocol */
	uint16_t	aead;		/* first offered that udpd has; 0 none */
	int		has_aead;	/* an AEAD record was sent */
	size_t		len;		/* bytes used, End of Message included */
};

/*
 * Parses the len bytes received so far.  NTS_KE_MORE while no End of
 * Message was seen and fewer than NTS_KE_REQUEST_MAX bytes came; an error
 * as soon as one is certain: a truncated or oversized message, bytes after
 * End of Message, a duplicate Next Protocol or AEAD record, a record only
 * a server sends (Error, Warning), a malformed body, no Next Protocol, or
 * NTPv4 without AEAD record are bad requests; an unknown record with the
 * critical bit is unrecognized.  Unknown non-critical records, New Cookie,
 * Server and Port Negotiation from a client are ignored.
 */
enum nts_ke_status nts_ke_parse_request(const uint8_t *buf, size_t len,
	    struct nts_ke_request *req);

/* What the server answers to a complete request. */
struct nts_ke_response {
	int		 ntpv4;		/* 0: NTPv4 not offered (empty record) */
	uint16_t	 aead;		/* 0: none usable (empty record) */
	const char	*server;	/* Server Negotiation, or NULL */
	uint16_t	 port;		/* Port Negotiation, or 0 */
	/* ncookies cookies of cookie_len bytes each, back to back. */
	const uint8_t	*cookies;
	size_t		 cookie_len;
	size_t		 ncookies;
};

/*
 * Writes the response records, End of Message last, into buf.  Returns
 * the length, or 0 when it does not fit in cap (or a field is too long).
 * Cookies are only sent with NTPv4 and an AEAD algorithm.
 */
size_t	nts_ke_write_response(const struct nts_ke_response *r, uint8_t *buf,
	    size_t cap);
/* An Error record with code, then End of Message; 0 if cap is short. */
size_t	nts_ke_write_error(uint16_t code, uint8_t *buf, size_t cap);
/* A Warning record with code, then End of Message; 0 if cap is short. */
size_t	nts_ke_write_warning(uint16_t code, uint8_t *buf, size_t cap);

/*
 * The exporter context of RFC 8915 section 4.3: protocol NTPv4, aead,
 * then 0 for the client-to-server key or 1 for the server-to-client one.
 */
void	nts_ke_exporter_context(uint16_t aead, int s2c,
	    uint8_t out[NTS_KE_CONTEXT_LEN]);

#endif
