/*
 * ntp.h - the NTP wire format (RFC 5905 / RFC 4330) and RFC 868 time,
 * with no socket code: timestamp conversion across the 2036 era
 * boundary, client request validation, the server reply and the
 * Kiss-o'-Death RATE reply, and the kernel's view of clock sync.
 */
#ifndef UDPD_NTP_H
#define UDPD_NTP_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

/* Seconds from 1900-01-01T00:00:00Z (NTP and RFC 868 epoch) to 1970. */
#define NTP_UNIX_OFFSET		2208988800LL

/* An NTP header without extension fields or MAC. */
#define NTP_PACKET_LEN		48

#define NTP_MODE_CLIENT		3
#define NTP_MODE_SERVER		4

#define NTP_LI_NONE		0
#define NTP_LI_UNSYNC		3

/* Stratum 16 means unsynchronised; 0 marks a Kiss-o'-Death packet. */
#define NTP_STRATUM_UNSPEC	0
#define NTP_STRATUM_UNSYNC	16

/* A 64-bit NTP timestamp: seconds mod 2^32 since the era start, and
 * the fraction of a second in units of 2^-32 s. */
struct ntp_ts {
	uint32_t	sec;
	uint32_t	frac;
};

/* The 48-byte header, fields in host order. */
struct ntp_packet {
	uint8_t		li;		/* leap indicator, 0-3 */
	uint8_t		vn;		/* version, 0-7 */
	uint8_t		mode;		/* 0-7 */
	uint8_t		stratum;
	int8_t		poll;		/* log2 seconds */
	int8_t		precision;	/* log2 seconds */
	uint32_t	root_delay;	/* NTP short format, 16.16 s */
	uint32_t	root_dispersion;/* NTP short format, 16.16 s */
	unsigned char	refid[4];
	struct ntp_ts	ref;		/* reference timestamp */
	struct ntp_ts	org;		/* origin timestamp */
	struct ntp_ts	rec;		/* receive timestamp */
	struct ntp_ts	xmt;		/* transmit timestamp */
};

/* What a server states about its clock in every reply. */
struct ntp_server_info {
	uint8_t		li;
	uint8_t		stratum;
	int8_t		precision;
	uint32_t	root_delay;	/* NTP short format */
	uint32_t	root_dispersion;/* NTP short format */
	unsigned char	refid[4];
	struct timespec	reftime;	/* {0, 0} encodes as a zero timestamp */
};

/* The kernel's view of the system clock (adjtimex). */
struct ntp_kstate {
	int		synced;		/* 0 when STA_UNSYNC or TIME_ERROR */
	long		maxerror_us;	/* kernel's maximum error estimate */
};

/* Reads the kernel's clock state; returns 0, or -1 (state unsynced). */
typedef int (*ntp_kernel_fn)(struct ntp_kstate *ks);

/* Reads CLOCK_REALTIME (same shape as udpd_clock_fn). */
typedef void (*ntp_clock_fn)(struct timespec *now);

/* Timestamps: any timespec maps to its era's value; back needs a pivot. */
void	ntp_ts_from_timespec(const struct timespec *ts, struct ntp_ts *out);
void	ntp_ts_to_timespec(const struct ntp_ts *t, time_t pivot,
	    struct timespec *out);
uint32_t ntp_short_from_us(long us);
uint32_t ntp_short_from_log2(int log2s);

/* RFC 868: seconds since 1900 modulo 2^32, written big-endian. */
uint32_t ntp_rfc868_seconds(time_t unix_sec);
void	ntp_rfc868_encode(time_t unix_sec, unsigned char out[4]);

/* Raw header codec: decode needs len >= 48 (else -1); encode writes 48. */
int	ntp_decode(const unsigned char *buf, size_t len, struct ntp_packet *p);
void	ntp_encode(const struct ntp_packet *p, unsigned char out[NTP_PACKET_LEN]);

/* Decodes a client request: >= 48 bytes, mode 3, version 1-4; else -1. */
int	ntp_parse_request(const unsigned char *buf, size_t len,
	    struct ntp_packet *req);

/*
 * Writes the 48-byte server reply to req into out (cap >= 48) and returns
 * 48, or 0 when cap is too small.  rx is the receive time; clock is read
 * last, for the transmit timestamp.
 */
size_t	ntp_build_reply(const struct ntp_packet *req,
	    const struct ntp_server_info *si, const struct timespec *rx,
	    ntp_clock_fn clock, unsigned char *out, size_t cap);

/*
 * For a rate limiter: if the raw datagram is a valid client request,
 * writes a 48-byte Kiss-o'-Death RATE reply into out and returns 48;
 * returns 0 (send nothing) for anything else or when cap < 48.
 */
size_t	ntp_build_kod(const unsigned char *req, size_t reqlen,
	    unsigned char *out, size_t cap);

/* The same with another kiss code ("NTSN": RFC 8915's NTS NAK). */
size_t	ntp_build_kod_code(const unsigned char *req, size_t reqlen,
	    const char code[4], unsigned char *out, size_t cap);

/*
 * NTPv4 extension fields (RFC 7822): a 2-byte type, a 2-byte length that
 * counts the whole field (at least 16, a multiple of 4), then the body.
 */
#define NTP_EF_MIN		16
/* A MAC after extension fields is 20 or 24 bytes (RFC 7822 section 7.5);
 * a trailer in that range is a MAC, never a field (chrony's rule). */
#define NTP_EF_MAC_MIN		20
#define NTP_EF_MAC_MAX		24

struct ntp_ef {
	uint16_t		 type;
	size_t			 off;		/* of the field */
	size_t			 len;		/* of the field */
	const unsigned char	*body;
	size_t			 body_len;	/* len - 4 */
};

/* The field at buf[off, len): 0 with *ef, or -1 when none fits there. */
int	ntp_ef_at(const unsigned char *buf, size_t len, size_t off,
	    struct ntp_ef *ef);
/*
 * Where the extension fields of an NTPv4 packet end: walks them from the
 * header while what remains is not a MAC's length.  The offset (len
 * when nothing follows them, else where the MAC starts), or (size_t)-1
 * when a field is malformed.
 */
size_t	ntp_ef_end(const unsigned char *pkt, size_t len);

/* The clock's precision (log2 seconds), measured at the first call. */
int8_t	ntp_precision(void);
/* From a resolution and the smallest step between two reads (0: none). */
int8_t	ntp_precision_from(const struct timespec *res, long step_ns);
/* round(log2(res in seconds)) (e.g. 1 ns: -30). */
int8_t	ntp_precision_of(const struct timespec *res);

/* The kernel's clock state through the current hook (adjtimex). */
int	ntp_kernel_state(struct ntp_kstate *ks);
/* The real query, whatever the hook. */
int	ntp_kernel_query(struct ntp_kstate *ks);
/* For tests: replaces the query (NULL restores it); returns the old one.
 * Not thread-safe: set it before any service handles a request. */
ntp_kernel_fn ntp_set_kernel_hook(ntp_kernel_fn fn);

#endif
