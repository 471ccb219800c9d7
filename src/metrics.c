/*
 * metrics.c - the Prometheus endpoint (SPEC section 8): libevent's evhttp in
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

#include <sys/resource.h>
#include <sys/socket.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <event2/listener.h>

#include "log.h"
#include "metrics.h"
#include "metrics_text.h"
#include "nts_ke.h"

#define METRICS_HEADERS_MAX	8192	/* request line + headers, bytes */
#define METRICS_READ_MAX	(2 * METRICS_HEADERS_MAX) /* held unparsed */
#define METRICS_TIMEOUT		10	/* idle seconds before a close */
#define METRICS_BACKLOG		128
#define METRICS_SOCKETS_MAX	METRICS_LISTEN_MAX /* addresses in listen */

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
};

struct metrics {
	struct event_base		*base;
	const struct server		*srv;
	const struct nts_ke		*nts_ke;	/* its sessions */
	struct evhttp			*http;
	struct event			*check_ev;
	struct bufferevent		*fresh;		/* accepted, unchecked */

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

static void	metrics_request(struct evhttp_request *req, void *arg);
static struct bufferevent *metrics_new_bev(struct event_base *base,
		    void *arg);
static void	metrics_check(evutil_socket_t fd, short what, void *arg);
static void	metrics_check_fresh(struct metrics *m);

/* Stops or restarts accepting on every address. */
static void
metrics_accepting(struct metrics *m, int on)
{
	for (size_t i = 0; i < m->nsocks; i++) {
		struct evconnlistener *l =
		    evhttp_bound_socket_get_listener(m->socks[i].bound);

		if (on)
			evconnlistener_enable(l);
		else
			evconnlistener_disable(l);
	}
}

/*
 * The boot time, for process_start_time_seconds, from the clocks rather
 * than /proc/stat, which the shipped unit hides (ProcSubset=pid).
 */
static void
metrics_boot_time(struct metrics *m)
{
	struct timespec rt, bt;

	if (clock_gettime(CLOCK_REALTIME, &rt) < 0 ||
	    clock_gettime(CLOCK_BOOTTIME, &bt) < 0)
		return;
	m->boot_time = (double)(rt.tv_sec - bt.tv_sec) +
	    (double)(rt.tv_nsec - bt.tv_nsec) / 1e9;
	m->have_boot_time = 1;
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
	m->max_conns = 1;
	if ((m->http = evhttp_new(base)) == NULL ||
	    (m->check_ev = event_new(base, -1, 0, metrics_check, m)) == NULL)
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
	metrics_boot_time(m);
	return m;
}

/* ---- connections: the access list and the cap ------------------------ */

/* evhttp made this bufferevent for a connection it just accepted. */
static struct bufferevent *
metrics_new_bev(struct event_base *base, void *arg)
{
	struct metrics *m = arg;
	struct bufferevent *bev = bufferevent_socket_new(base, -1, 0);

	if (bev == NULL)
		return NULL;		/* evhttp makes its own: unchecked */
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
	/* At the cap (it may have been lowered by a reload: one at a time
	 * then, as new connections come). */
	m->evicted++;
	log_debug("metrics: %d connections open: closing the oldest",
	    m->max_conns);
	evhttp_connection_free(oldest->evcon);
	if (oldest->evcon != NULL) {	/* metrics_closed was not called */
		oldest->evcon = NULL;
		m->open--;
	}
	return oldest;
}

/*
 * The connection evhttp tied to bev: the argument of its callbacks, checked
 * against evhttp's own record.  NULL with *gone set if evhttp already
 * dropped it; NULL with *gone clear if libevent no longer works this way.
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
	m->open++;
	evhttp_connection_set_closecb(evcon, metrics_closed, m);
}

/* ---- the scrape --------------------------------------------------------- */

struct gather {
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
	if (svc->module->last_seq != NULL &&
	    svc->module->last_seq(svc->instance, &s->last_seq) == 0)
		s->has_last_seq = 1;
	s->has_nts_ke = nts_ke_counts(g->nts_ke, svc->name, s->nts_ke) == 0;
}

/* A small /proc file into buf; -1 if it cannot be read. */
static int
metrics_read_file(const char *path, char *buf, size_t cap)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -1;
	n = read(fd, buf, cap - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = '\0';
	return 0;
}

/* Entries of /proc/self/fd, not counting the one that reads it. */
static int
metrics_count_fds(uint64_t *n)
{
	DIR *d = opendir("/proc/self/fd");
	const struct dirent *e;

	if (d == NULL)
		return -1;
	*n = 0;
	while ((e = readdir(d)) != NULL)
		if (e->d_name[0] != '.')
			(*n)++;
	if (*n > 0)
		(*n)--;
	closedir(d);
	return 0;
}

static void
metrics_process(const struct metrics *m, struct metrics_process *p)
{
	unsigned long long cpu, start, pages;
	long tick = sysconf(_SC_CLK_TCK), page = sysconf(_SC_PAGESIZE);
	struct rlimit rl;
	char buf[1024];

	memset(p, 0, sizeof(*p));
	if (tick > 0 && metrics_read_file("/proc/self/stat", buf,
	    sizeof(buf)) == 0 && metrics_parse_proc_stat(buf, &cpu,
	    &start) == 0) {
		p->have_cpu = 1;
		p->cpu_seconds = (double)cpu / (double)tick;
		p->have_start = m->have_boot_time;
		p->start_time = m->boot_time + (double)start / (double)tick;
	}
	if (page > 0 && metrics_read_file("/proc/self/statm", buf,
	    sizeof(buf)) == 0 && sscanf(buf, "%*u %llu", &pages) == 1) {
		p->have_rss = 1;
		p->rss_bytes = (uint64_t)pages * (uint64_t)page;
	}
	p->have_fds = metrics_count_fds(&p->open_fds) == 0;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY) {
		p->have_max_fds = 1;
		p->max_fds = (uint64_t)rl.rlim_cur;
	}
}

/* The exposition text; NULL if out of memory. */
static char *
metrics_text(const struct metrics *m, size_t *len)
{
	struct gather g = { .nts_ke = m->nts_ke };
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
	metrics_process(m, &s.process);
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
	if (m->fresh == NULL)
		metrics_accepting(m, 1);
	acl_copy(&m->acl, mc != NULL ? &mc->acl : NULL);
	m->max_conns = mc != NULL ? mc->max_connections : 1;
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
	/* Frees every connection (metrics_closed still finds the table)
	 * and closes every listening socket. */
	evhttp_free(m->http);
	event_free(m->check_ev);
	acl_clear(&m->acl);
	free(m->conns);
	free(m);
}
