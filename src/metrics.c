/*
 * metrics.c - the Prometheus endpoint: libevent's evhttp in
 * the main thread answers GET and HEAD /metrics with the text of
 * metrics_text.c, built from the counters the workers keep (read with
 * relaxed atomic loads: the workers are never paused for a scrape).
 *
 * The HTTP side is bounded: request line and headers at most
 * METRICS_HEADERS_MAX bytes, no request body, an idle timeout, and at most
 * max_connections open connections.  Past that cap a new connection closes
 * the oldest one, so idle or half-sent connections cannot lock a scraper
 * out.  A connection from an address that allow/deny refuses is closed
 * before a byte of it is read, and counted.
 *
 * evhttp (libevent 2.1) offers no hook between accept() and the first read,
 * so one is made: the bufferevent callback sees each new connection first;
 * the check of its peer runs right after evhttp has set it up (an active
 * event, in the same loop pass, before any read), when evhttp has tied it
 * to its connection object.  Accepting pauses meanwhile: one new
 * connection is checked at a time.
 */
#include "config.h"

#include <sys/queue.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <event2/listener.h>

#include "log.h"
#include "metrics.h"
#include "metrics_proc.h"
#include "metrics_text.h"
#include "nts_ke.h"

#define METRICS_HEADERS_MAX	8192	/* request line + headers, bytes */
#define METRICS_READ_MAX	(2 * METRICS_HEADERS_MAX) /* held unparsed */
#define METRICS_TIMEOUT		10	/* idle seconds before a close */
#define METRICS_BACKLOG		128
#define METRICS_SOCKETS_MAX	METRICS_LISTEN_MAX /* addresses in listen */
#define METRICS_FD_RESERVE	16	/* fds the cap leaves to the rest */
#define METRICS_PAUSE_MS	500	/* no accept after EMFILE/ENFILE */
#define METRICS_QUIET_SECONDS	60	/* between two such messages */

/* One listening address. */
struct metrics_sock {
	struct udpd_sockaddr		 want;	/* as configured (port 0 too) */
	struct udpd_sockaddr		 local;	/* as bound */
	struct evhttp_bound_socket	*bound;
	int				 keep;	/* listed by the new conf */
};

/* One open connection, for the cap. */
struct metrics_conn {
	struct evhttp_connection	*evcon;		/* NULL: free slot */
	unsigned long long		 serial;	/* accept order */
	struct sockaddr_storage		 peer;		/* for a reload's acl */
};

struct metrics {
	struct event_base		*base;
	const struct server		*srv;
	const struct nts_ke		*nts_ke;	/* its sessions */
	struct evhttp			*http;
	struct event			*check_ev;
	struct bufferevent		*fresh;		/* accepted, unchecked */
	struct bufferevent		*spare;		/* if a new one fails */
	struct event			*pause_ev;	/* out of fds: resume */
	int				 paused;
	unsigned long long		 pauses;	/* since the message */
	time_t				 paused_said;	/* monotonic seconds */

	struct metrics_sock		 socks[METRICS_SOCKETS_MAX];
	size_t				 nsocks;
	struct metrics_sock		 next[METRICS_SOCKETS_MAX];
	size_t				 nnext;		/* prepared */

	struct acl			 acl;

	struct metrics_conn		*conns;
	int				 max_conns;	/* the cap */
	unsigned long long		 serial;
	uint64_t			 open;
	uint64_t			 denied;
	uint64_t			 evicted;
	uint64_t			 reloads_ok;
	uint64_t			 reloads_failed;
	double				 boot_time;	/* Unix seconds */
	int				 have_boot_time;
};

/*
 * The endpoint whose listeners report accept errors: their callback's
 * argument is evhttp's, not ours, and there is one endpoint per process.
 */
static struct metrics *metrics_the;

static void	metrics_request(struct evhttp_request *req, void *arg);
static struct bufferevent *metrics_new_bev(struct event_base *base,
		    void *arg);
static void	metrics_check(evutil_socket_t fd, short what, void *arg);
static void	metrics_check_fresh(struct metrics *m);
static void	metrics_resume(evutil_socket_t fd, short what, void *arg);
static void	metrics_drop(struct metrics *m, struct metrics_conn *c);

/* Stops or restarts accepting on every address (not while a new
 * connection waits for its check, nor while out of fds). */
static void
metrics_accepting(struct metrics *m, int on)
{
	if (on && (m->fresh != NULL || m->paused))
		return;
	for (size_t i = 0; i < m->nsocks; i++) {
		struct evconnlistener *l =
		    evhttp_bound_socket_get_listener(m->socks[i].bound);

		if (on)
			evconnlistener_enable(l);
		else
			evconnlistener_disable(l);
	}
}

struct metrics *
metrics_new(struct event_base *base, const struct server *srv)
{
	struct metrics *m = calloc(1, sizeof(*m));

	if (m == NULL || (m->conns = calloc(METRICS_CONNECTIONS_MAX,
	    sizeof(*m->conns))) == NULL)
		fatal("calloc");
	m->base = base;
	m->srv = srv;
	metrics_the = m;
	m->max_conns = 1;
	if ((m->http = evhttp_new(base)) == NULL ||
	    (m->check_ev = event_new(base, -1, 0, metrics_check, m)) == NULL ||
	    (m->pause_ev = evtimer_new(base, metrics_resume, m)) == NULL ||
	    (m->spare = bufferevent_socket_new(base, -1, 0)) == NULL)
		fatalx("metrics: out of memory");
	evhttp_set_max_headers_size(m->http, METRICS_HEADERS_MAX);
	evhttp_set_max_body_size(m->http, 0);
	evhttp_set_timeout(m->http, METRICS_TIMEOUT);
	/* Every method reaches metrics_request, which answers 405 itself
	 * (evhttp would say 501); (1 << 15) is evhttp's unknown method. */
	evhttp_set_allowed_methods(m->http, 0xffff);
	evhttp_set_default_content_type(m->http, "text/plain; charset=utf-8");
	evhttp_set_gencb(m->http, metrics_request, m);
	evhttp_set_bevcb(m->http, metrics_new_bev, m);
	m->have_boot_time = metrics_proc_boot_time(&m->boot_time) == 0;
	return m;
}

/* ---- file descriptors -------------------------------------------------- */

/*
 * Out of file descriptors (or memory): stop accepting for a while rather
 * than retry at once on a listening socket that stays readable (a busy
 * loop and a log line per try).  One message, then one a minute at most.
 */
static void
metrics_pause(struct metrics *m)
{
	struct timeval tv = { 0, METRICS_PAUSE_MS * 1000 };
	struct timespec now;
	int e = errno;

	m->paused = 1;
	metrics_accepting(m, 0);
	evtimer_add(m->pause_ev, &tv);
	m->pauses++;
	clock_gettime(CLOCK_MONOTONIC, &now);
	if (m->paused_said != 0 && now.tv_sec - m->paused_said <
	    METRICS_QUIET_SECONDS)
		return;
	log_warnx("metrics: cannot accept a connection (%s): paused for %d "
	    "ms (%llu time(s) since the last message)", strerror(e),
	    METRICS_PAUSE_MS, m->pauses);
	m->paused_said = now.tv_sec;
	m->pauses = 0;
}

static void
metrics_resume(evutil_socket_t fd, short what, void *arg)
{
	struct metrics *m = arg;

	(void)fd;
	(void)what;
	m->paused = 0;
	metrics_accepting(m, 1);
}

/* accept() failed on a listening socket. */
static void
metrics_accept_error(struct evconnlistener *l, void *arg)
{
	struct metrics *m = metrics_the;
	int e = EVUTIL_SOCKET_ERROR();

	(void)l;
	(void)arg;
	if (m == NULL)
		return;
	if (e == EMFILE || e == ENFILE || e == ENOBUFS || e == ENOMEM) {
		errno = e;
		metrics_pause(m);
		return;
	}
	log_debug("metrics: accept: %s", strerror(e));
}

/*
 * The cap, lowered if the open file limit cannot hold it: each connection
 * is a descriptor, and the rest of udpd (sockets, logs, a reload's new
 * sockets) must keep METRICS_FD_RESERVE of its own.
 */
static int
metrics_cap(const struct metrics *m, int want)
{
	struct rlimit rl;
	uint64_t used;
	long long room;

	if (getrlimit(RLIMIT_NOFILE, &rl) < 0 || rl.rlim_cur == RLIM_INFINITY ||
	    metrics_proc_count_fds(&used) < 0)
		return want;
	used -= used >= m->open ? m->open : used;  /* ours are in the cap */
	room = (long long)rl.rlim_cur - (long long)used - METRICS_FD_RESERVE;
	if (room >= want)
		return want;
	if (room < 1)
		room = 1;
	log_warning("metrics: max_connections %d lowered to %lld (open file "
	    "limit %llu, %llu in use)", want, room,
	    (unsigned long long)rl.rlim_cur, (unsigned long long)used);
	return (int)room;
}

/*
 * After a reload: connections the new access list refuses are closed, and
 * so are the oldest past the new cap (all of them if the endpoint went).
 */
static void
metrics_enforce(struct metrics *m)
{
	for (int i = 0; i < METRICS_CONNECTIONS_MAX; i++) {
		struct metrics_conn *c = &m->conns[i];

		if (c->evcon != NULL && (m->nsocks == 0 ||
		    !acl_match(&m->acl, (struct sockaddr *)&c->peer)))
			metrics_drop(m, c);
	}
	while (m->open > (uint64_t)m->max_conns) {
		struct metrics_conn *oldest = NULL;

		for (int i = 0; i < METRICS_CONNECTIONS_MAX; i++)
			if (m->conns[i].evcon != NULL && (oldest == NULL ||
			    m->conns[i].serial < oldest->serial))
				oldest = &m->conns[i];
		if (oldest == NULL)
			break;
		m->evicted++;
		metrics_drop(m, oldest);
	}
}

/* ---- connections: the access list and the cap ------------------------ */

/* evhttp made this bufferevent for a connection it just accepted. */
static struct bufferevent *
metrics_new_bev(struct event_base *base, void *arg)
{
	struct metrics *m = arg;
	struct bufferevent *bev = bufferevent_socket_new(base, -1, 0);

	/* Never NULL: evhttp would make its own, which no check would see
	 * (fail open).  The spare is replaced at the check. */
	if (bev == NULL) {
		bev = m->spare;
		m->spare = NULL;
	}
	if (bev == NULL)
		fatalx("metrics: out of memory");
	/* A client that pipelines requests and reads no reply would have
	 * evhttp read (and hold) all it sends: stop reading past one
	 * request's worth, so the kernel's buffers push back instead. */
	bufferevent_setwatermark(bev, EV_READ, 0, METRICS_READ_MAX);
	/* Accepting is paused until the check, so this should not happen;
	 * if it does, the previous connection is set up by now: check it. */
	if (m->fresh != NULL)
		metrics_check_fresh(m);
	/* Our reference keeps it valid even if evhttp drops the connection
	 * before metrics_check runs. */
	bufferevent_incref(bev);
	m->fresh = bev;
	metrics_accepting(m, 0);
	event_active(m->check_ev, EV_READ, 0);
	return bev;
}

/* evhttp frees a connection (closed, timed out, evicted, shut down). */
static void
metrics_closed(struct evhttp_connection *evcon, void *arg)
{
	struct metrics *m = arg;

	for (int i = 0; i < METRICS_CONNECTIONS_MAX; i++)
		if (m->conns[i].evcon == evcon) {
			m->conns[i].evcon = NULL;
			m->open--;
			return;
		}
}

/* Closes the connection in slot c and frees the slot. */
static void
metrics_drop(struct metrics *m, struct metrics_conn *c)
{
	evhttp_connection_free(c->evcon);
	if (c->evcon != NULL) {		/* metrics_closed was not called */
		c->evcon = NULL;
		m->open--;
	}
}

/* A free slot, making one by closing the oldest connection if need be. */
static struct metrics_conn *
metrics_slot(struct metrics *m)
{
	struct metrics_conn *oldest = NULL, *free_slot = NULL;

	for (int i = 0; i < METRICS_CONNECTIONS_MAX; i++) {
		struct metrics_conn *c = &m->conns[i];

		if (c->evcon == NULL) {
			if (free_slot == NULL)
				free_slot = c;
		} else if (oldest == NULL || c->serial < oldest->serial)
			oldest = c;
	}
	if (m->open < (uint64_t)m->max_conns && free_slot != NULL)
		return free_slot;
	/* At the cap (a reload that lowers it closes the excess at once:
	 * metrics_enforce). */
	m->evicted++;
	log_debug("metrics: %d connections open: closing the oldest",
	    m->max_conns);
	metrics_drop(m, oldest);
	return oldest;
}

/*
 * The connection evhttp tied to bev: the argument of its callbacks, checked
 * against evhttp's own record.  NULL with *gone set if evhttp already
 * dropped it; NULL with *gone clear if libevent no longer works this way.
 *
 * This leans on evhttp's internals (libevent 2.1 passes the connection as
 * the bufferevent's callback argument): the public way from a connection
 * to its bufferevent, evhttp_request_get_connection() and
 * evhttp_connection_get_bufferevent(), needs a request, and none exists
 * before the first read.  The cross-check with the public call below makes
 * a change in libevent fail closed (the connection is refused), never open.
 */
static struct evhttp_connection *
metrics_evcon_of(struct bufferevent *bev, int *gone)
{
	bufferevent_data_cb readcb;
	void *arg;

	bufferevent_getcb(bev, &readcb, NULL, NULL, &arg);
	*gone = readcb == NULL;
	if (readcb == NULL || arg == NULL ||
	    evhttp_connection_get_bufferevent(arg) != bev)
		return NULL;
	return arg;
}

/* Runs once evhttp has set up the new connection, before it reads. */
static void
metrics_check(evutil_socket_t unused, short what, void *arg)
{
	struct metrics *m = arg;

	(void)unused;
	(void)what;
	metrics_check_fresh(m);
	if (m->spare == NULL &&
	    (m->spare = bufferevent_socket_new(m->base, -1, 0)) == NULL) {
		log_warnx("metrics: out of memory: not accepting for now");
		metrics_pause(m);
		return;
	}
	metrics_accepting(m, 1);
}

/* The access list and the cap for the connection accepted last. */
static void
metrics_check_fresh(struct metrics *m)
{
	struct bufferevent *bev = m->fresh;
	struct evhttp_connection *evcon;
	struct sockaddr_storage peer;
	socklen_t len = sizeof(peer);
	struct metrics_conn *slot;
	int gone;

	m->fresh = NULL;
	if (bev == NULL)
		return;
	if ((evcon = metrics_evcon_of(bev, &gone)) == NULL) {
		/* Fail closed: a connection that cannot be checked is ended
		 * (evhttp reads the end of file and frees it). */
		if (!gone) {
			shutdown(bufferevent_getfd(bev), SHUT_RDWR);
			log_warnx("metrics: cannot check a connection with "
			    "this libevent: refused");
		}
		bufferevent_decref(bev);
		return;
	}
	bufferevent_decref(bev);	/* evcon holds it now */
	if (getpeername(bufferevent_getfd(bev), (struct sockaddr *)&peer,
	    &len) < 0) {			/* reset already */
		evhttp_connection_free(evcon);
		return;
	}
	if (!acl_match(&m->acl, (struct sockaddr *)&peer)) {
		m->denied++;
		evhttp_connection_free(evcon);
		return;
	}
	slot = metrics_slot(m);
	slot->evcon = evcon;
	slot->serial = ++m->serial;
	slot->peer = peer;
	m->open++;
	evhttp_connection_set_closecb(evcon, metrics_closed, m);
}

/* ---- the scrape --------------------------------------------------------- */

struct gather {
	const struct udpd_stats_view *view;	/* the server's, as stats' */
	const struct nts_ke	*nts_ke;
	struct metrics_service	*svc;
	size_t			 n;
	size_t			 cap;
};

static void
metrics_add_service(void *arg, const struct service_conf *svc,
    const struct udpd_counters *c)
{
	struct gather *g = arg;
	struct metrics_service *s;

	if (g->n == g->cap) {
		size_t cap = g->cap * 2 + 8;
		void *p = reallocarray(g->svc, cap, sizeof(*g->svc));

		if (p == NULL)
			return;		/* the scrape lists fewer services */
		g->svc = p;
		g->cap = cap;
	}
	s = &g->svc[g->n++];
	memset(s, 0, sizeof(*s));
	s->name = svc->name;
	s->module = svc->module->name;
	s->c = *c;
	s->has_last_seq = g->view->last_seq(g->view->arg, svc->name,
	    &s->last_seq) == 0;
	s->has_nts_ke = nts_ke_counts(g->nts_ke, svc->name, s->nts_ke) == 0;
	s->store_up = svc->module->store_up != NULL ?
	    svc->module->store_up(svc->instance) : -1;
	s->has_nts = svc->module->nts_stats != NULL &&
	    svc->module->nts_stats(svc->instance, &s->nts) == 0;
}

/* The exposition text; NULL if out of memory. */
static char *
metrics_text(const struct metrics *m, size_t *len)
{
	struct gather g = { .view = &m->srv->stats, .nts_ke = m->nts_ke };
	struct metrics_snapshot s = { 0 };
	char *text = NULL;
	FILE *f;

	server_foreach_service(m->srv, metrics_add_service, &g);
	s.services = g.svc;
	s.nservices = g.n;
	s.reloads_ok = m->reloads_ok;
	s.reloads_failed = m->reloads_failed;
	s.start_time = m->srv->started_real;
	s.version = PACKAGE_VERSION;
	s.http_open = m->open;
	s.http_denied = m->denied;
	s.http_evicted = m->evicted;
	metrics_proc_read(&s.process, m->have_boot_time, m->boot_time);
	if ((f = open_memstream(&text, len)) != NULL) {
		metrics_format(f, &s);
		if (ferror(f)) {
			fclose(f);
			free(text);
			text = NULL;
		} else if (fclose(f) != 0)
			text = NULL;
	}
	free(g.svc);
	return text;
}

static void
metrics_reply_error(struct evhttp_request *req, int code, const char *why)
{
	struct evbuffer *body = evbuffer_new();

	if (body != NULL)
		evbuffer_add_printf(body, "%s\n", why);
	evhttp_send_reply(req, code, why, body);
	if (body != NULL)
		evbuffer_free(body);
}

/* How many times the request carries header name (any case). */
static int
metrics_header_count(struct evhttp_request *req, const char *name)
{
	const struct evkeyval *h;
	int n = 0;

	TAILQ_FOREACH(h, evhttp_request_get_input_headers(req), next)
		if (strcasecmp(h->key, name) == 0)
			n++;
	return n;
}

/*
 * The reply to a CONNECT has gone: end the connection, which evhttp keeps
 * open for a tunnel whatever "Connection: close" says.  evhttp then reads
 * the end of file and frees it.
 */
static void
metrics_end_after(struct evhttp_request *req, void *arg)
{
	struct evhttp_connection *evcon = evhttp_request_get_connection(req);

	(void)arg;
	if (evcon != NULL)
		shutdown(bufferevent_getfd(evhttp_connection_get_bufferevent(
		    evcon)), SHUT_RDWR);
}

/*
 * Requests refused before their path is looked at: CONNECT (its target is
 * no path: 405, as every method but GET and HEAD), and two Content-Length
 * headers (RFC 7230 section 3.3.2: 400).  Both end the connection.
 */
static int
metrics_refuse_early(struct evhttp_request *req)
{
	struct evkeyvalq *out = evhttp_request_get_output_headers(req);

	if (evhttp_request_get_command(req) == EVHTTP_REQ_CONNECT) {
		evhttp_add_header(out, "Allow", "GET, HEAD");
		evhttp_request_set_on_complete_cb(req, metrics_end_after, NULL);
		metrics_reply_error(req, 405, "Method Not Allowed");
		return 1;
	}
	if (metrics_header_count(req, "Content-Length") > 1) {
		evhttp_add_header(out, "Connection", "close");
		metrics_reply_error(req, HTTP_BADREQUEST, "Bad Request");
		return 1;
	}
	return 0;
}

static void
metrics_request(struct evhttp_request *req, void *arg)
{
	const struct metrics *m = arg;
	const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
	const char *path = uri != NULL ? evhttp_uri_get_path(uri) : NULL;
	enum evhttp_cmd_type cmd = evhttp_request_get_command(req);
	struct evkeyvalq *out = evhttp_request_get_output_headers(req);
	struct evbuffer *body;
	char *text;
	size_t len;

	if (metrics_refuse_early(req))
		return;
	if (path == NULL || strcmp(path, "/metrics") != 0) {
		metrics_reply_error(req, HTTP_NOTFOUND, "Not Found");
		return;
	}
	if (cmd != EVHTTP_REQ_GET && cmd != EVHTTP_REQ_HEAD) {
		evhttp_add_header(out, "Allow", "GET, HEAD");
		metrics_reply_error(req, 405, "Method Not Allowed");
		return;
	}
	if ((text = metrics_text(m, &len)) == NULL ||
	    (body = evbuffer_new()) == NULL) {
		free(text);
		metrics_reply_error(req, HTTP_INTERNAL, "Internal Server Error");
		return;
	}
	evbuffer_add(body, text, len);
	free(text);
	evhttp_add_header(out, "Content-Type", METRICS_CONTENT_TYPE);
	evhttp_send_reply(req, HTTP_OK, "OK", body);
	evbuffer_free(body);
}

/* ---- addresses and reloads -------------------------------------------- */

/* A listening TCP socket on a, not yet served; -1 with err. */
static int
metrics_listen(const struct udpd_sockaddr *a, struct udpd_sockaddr *local,
    char *err, size_t errlen)
{
	const struct sockaddr *sa = (const struct sockaddr *)&a->ss;
	char text[INET6_ADDRSTRLEN + 16];
	int on = 1, fd;

	/* The family is read as ss_family: through sa, the compiler may
	 * read it before the caller's copy into a is done (aliasing). */
	fd = socket(a->ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, 0);
	local->len = sizeof(local->ss);
	if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on,
	    sizeof(on)) < 0 || (a->ss.ss_family == AF_INET6 &&
	    setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &on, sizeof(on)) < 0) ||
	    bind(fd, sa, a->len) < 0 || listen(fd, METRICS_BACKLOG) < 0 ||
	    getsockname(fd, (struct sockaddr *)&local->ss, &local->len) < 0) {
		snprintf(err, errlen, "metrics: cannot listen on %s (tcp): %s",
		    addr_format(sa, text, sizeof(text)), strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}

static struct metrics_sock *
metrics_find(struct metrics *m, const struct udpd_sockaddr *a)
{
	for (size_t i = 0; i < m->nsocks; i++)
		if (addr_equal((const struct sockaddr *)&m->socks[i].want.ss,
		    (const struct sockaddr *)&a->ss))
			return &m->socks[i];
	return NULL;
}

void
metrics_abort(struct metrics *m)
{
	for (size_t i = 0; i < m->nnext; i++)
		if (!m->next[i].keep)
			evhttp_del_accept_socket(m->http, m->next[i].bound);
	for (size_t i = 0; i < m->nsocks; i++)
		m->socks[i].keep = 0;
	m->nnext = 0;
}

int
metrics_prepare(struct metrics *m, const struct metrics_conf *mc, char *err,
    size_t errlen)
{
	size_t n = mc != NULL ? mc->nlisten : 0;

	m->nnext = 0;
	if (n > METRICS_SOCKETS_MAX) {
		snprintf(err, errlen, "metrics: more than %d listen addresses",
		    METRICS_SOCKETS_MAX);
		return -1;
	}
	for (size_t i = 0; i < n; i++) {
		struct metrics_sock *old = metrics_find(m, &mc->listen[i]);
		struct metrics_sock *s = &m->next[m->nnext];
		int fd;

		if (old != NULL) {		/* stays open: no lost scrape */
			old->keep = 1;
			*s = *old;
			m->nnext++;
			continue;
		}
		memset(s, 0, sizeof(*s));
		s->want = mc->listen[i];
		if ((fd = metrics_listen(&s->want, &s->local, err,
		    errlen)) < 0) {
			metrics_abort(m);
			return -1;
		}
		if ((s->bound = evhttp_accept_socket_with_handle(m->http,
		    fd)) == NULL) {
			close(fd);
			snprintf(err, errlen, "metrics: out of memory");
			metrics_abort(m);
			return -1;
		}
		/* Not served before the commit. */
		evconnlistener_disable(evhttp_bound_socket_get_listener(
		    s->bound));
		evconnlistener_set_error_cb(evhttp_bound_socket_get_listener(
		    s->bound), metrics_accept_error);
		m->nnext++;
	}
	return 0;
}

void
metrics_commit(struct metrics *m, const struct metrics_conf *mc)
{
	char text[INET6_ADDRSTRLEN + 16];

	for (size_t i = 0; i < m->nsocks; i++) {
		if (m->socks[i].keep)
			continue;
		log_notice("metrics %s: closed", addr_format(
		    (struct sockaddr *)&m->socks[i].local.ss, text,
		    sizeof(text)));
		evhttp_del_accept_socket(m->http, m->socks[i].bound);
	}
	for (size_t i = 0; i < m->nnext; i++) {
		m->socks[i] = m->next[i];
		if (m->socks[i].keep) {
			m->socks[i].keep = 0;
			continue;
		}
		log_notice("metrics %s: listening", addr_format(
		    (struct sockaddr *)&m->socks[i].local.ss, text,
		    sizeof(text)));
	}
	m->nsocks = m->nnext;
	m->nnext = 0;
	/* A check in progress re-enables them itself. */
	metrics_accepting(m, 1);
	acl_copy(&m->acl, mc != NULL ? &mc->acl : NULL);
	m->max_conns = mc != NULL ? metrics_cap(m, mc->max_connections) : 1;
	metrics_enforce(m);
}

void
metrics_count_reload(struct metrics *m, int ok)
{
	if (ok)
		m->reloads_ok++;
	else
		m->reloads_failed++;
}

void
metrics_write_ports(const struct metrics *m, FILE *f)
{
	char text[INET6_ADDRSTRLEN + 16];

	for (size_t i = 0; i < m->nsocks; i++)
		fprintf(f, "@metrics %s\n", addr_format(
		    (const struct sockaddr *)&m->socks[i].local.ss, text,
		    sizeof(text)));
}

void
metrics_set_nts_ke(struct metrics *m, const struct nts_ke *k)
{
	m->nts_ke = k;
}

void
metrics_free(struct metrics *m)
{
	if (m == NULL)
		return;
	if (m->fresh != NULL)
		bufferevent_decref(m->fresh);
	if (m->spare != NULL)
		bufferevent_free(m->spare);
	/* Frees every connection (metrics_closed still finds the table)
	 * and closes every listening socket. */
	evhttp_free(m->http);
	event_free(m->check_ev);
	event_free(m->pause_ev);
	acl_clear(&m->acl);
	free(m->conns);
	if (metrics_the == m)
		metrics_the = NULL;
	free(m);
}
