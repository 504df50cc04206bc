/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Strict HTTP/1.1 message layer (RFC 9112) for gwd's L7 proxy: incremental
 * request and response head parsers, a streaming chunked-body validator, head
 * builders for both directions and the gateway's own small answers.
 * docs/http1.md lists what is refused with which status and why.
 *
 * Memory: nothing here allocates. The caller owns the receive buffer and a
 * fixed array of struct gw_http_hdr; every parse result is an offset/length
 * pair into that buffer (struct gw_http_span), so the buffer may be moved or
 * reallocated between calls as long as its bytes stay the same.
 *
 * Head parsing, the usual loop:
 *
 *	struct gw_http_hdr hdrs[64];
 *	struct gw_http_req req;
 *
 *	gw_http_req_init(&req, hdrs, 64, &limits);
 *	for (;;) {
 *		len += read(fd, buf + len, cap - len);
 *		rc = gw_http_req_parse(&req, buf, len);
 *		if (rc > 0)		// head complete: rc bytes; body starts at buf + rc
 *			break;
 *		if (rc < 0)		// answer req.h.status, log req.h.reason, close
 *			goto refuse;
 *		// rc == 0: need more bytes; the parser resumes where it stopped
 *	}
 *
 * Then the body, per req.h.body: GW_BODY_NONE, GW_BODY_LENGTH (exactly
 * req.h.content_length bytes), GW_BODY_CHUNKED (run the bytes through
 * gw_chunk_parse()/gw_chunk_scan() and forward them unchanged), and for
 * responses only GW_BODY_CLOSE (until the upstream closes).
 *
 * Keep-alive: for the next request on the connection call gw_http_req_init()
 * again and parse from the first byte after the previous message (buf + its
 * head and body length); pipelined bytes already read are simply the start.
 *
 * Request parse errors carry the status for the client (400, 413, 414, 417,
 * 431, 501, 505); response parse errors and upstream chunked errors carry 502.
 */
#ifndef GW_HTTP1_H
#define GW_HTTP1_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---- common types ------------------------------------------------------- */

/* A byte range of the caller's buffer. */
struct gw_http_span {
	uint32_t off;
	uint32_t len;
};

/* Header fields the parsers recognise (by name, case-insensitively). */
enum gw_http_hdr_id {
	GW_HDR_OTHER = 0,
	GW_HDR_HOST,
	GW_HDR_CONTENT_LENGTH,
	GW_HDR_TRANSFER_ENCODING,
	GW_HDR_CONNECTION,
	GW_HDR_KEEP_ALIVE,
	GW_HDR_PROXY_CONNECTION,
	GW_HDR_TE,
	GW_HDR_TRAILER,
	GW_HDR_UPGRADE,
	GW_HDR_EXPECT,
	GW_HDR_X_FORWARDED_FOR,
	GW_HDR_X_FORWARDED_PROTO,
	GW_HDR_X_REQUEST_ID,
	GW_HDR_TRACEPARENT,
	GW_HDR_TRACESTATE,
};

/* gw_http_hdr.flags */
#define GW_HDR_F_CONN_LISTED 0x01 /* a GW_HDR_OTHER field named in Connection */

/* One header field: name and value (OWS trimmed) as offsets into the buffer. */
struct gw_http_hdr {
	uint32_t name;
	uint32_t value;
	uint32_t value_len;
	uint16_t name_len;
	uint8_t id;    /* enum gw_http_hdr_id */
	uint8_t flags; /* GW_HDR_F_* */
};

/* Limits for one head; a zero field takes the default below (max_body: no
 * limit). The parsers keep a copy. */
struct gw_http_limits {
	uint32_t max_line;    /* request/status line bytes without CRLF: 414 */
	uint32_t max_fields;  /* header section bytes after the start line,
			       * including every CRLF and the final one: 431 */
	uint16_t max_headers; /* header field lines (also bounded by the
			       * caller's array): 431 */
	uint64_t max_body;    /* Content-Length above this: 413 (0: no limit) */
};

#define GW_HTTP_MAX_LINE_DEFAULT    8192
#define GW_HTTP_MAX_FIELDS_DEFAULT  32768
#define GW_HTTP_MAX_HEADERS_DEFAULT 100

enum gw_http_body {
	GW_BODY_NONE = 0,
	GW_BODY_LENGTH,	 /* content_length bytes */
	GW_BODY_CHUNKED, /* chunked is the final transfer coding */
	GW_BODY_CLOSE,	 /* responses only: until the connection closes */
};

/* Transfer codings the parsers understand (others: 501 in requests). */
enum gw_http_coding {
	GW_TE_CHUNKED = 1,
	GW_TE_GZIP, /* also "x-gzip" */
	GW_TE_DEFLATE,
	GW_TE_COMPRESS, /* also "x-compress" */
};
#define GW_HTTP_TE_MAX 4

/* What requests and responses share: headers, framing, connection. */
struct gw_http_head {
	struct gw_http_hdr *hdr;    /* caller's array ... */
	uint16_t hdr_cap;	    /* ... of this many entries */
	uint16_t nhdr;		    /* entries filled */
	uint8_t minor;		    /* HTTP/1.<minor>: 0 or 1 */
	uint8_t body;		    /* enum gw_http_body */
	uint8_t nte;		    /* transfer codings, in order */
	uint8_t te[GW_HTTP_TE_MAX]; /* enum gw_http_coding */
	bool has_cl;		    /* a valid Content-Length was present */
	bool keep_alive;	    /* connection may carry another message */
	bool conn_close;	    /* Connection: close */
	bool conn_keep_alive;	    /* Connection: keep-alive */
	bool conn_upgrade;	    /* Connection: upgrade */
	bool has_upgrade;	    /* an Upgrade field is present */
	uint64_t content_length;    /* when has_cl */

	/* on error: the status to answer and a short reason for the log */
	uint16_t status;
	const char *reason;

	/* parser state (private) */
	struct gw_http_limits lim;
	uint32_t pos;	 /* start of the first line not parsed yet */
	uint32_t scan;	 /* where the search for its LF resumes */
	uint32_t fields; /* offset of the header section */
	uint8_t state;
	uint8_t empty_lines;
	bool has_te;	 /* a Transfer-Encoding field was seen */
	bool conn_names; /* Connection names fields (not only options) */
	bool upstream;	 /* a response: errors carry 502 */
};

/* ---- requests ------------------------------------------------------------ */

enum gw_http_method {
	GW_METHOD_OTHER = 0, /* an extension method: see req->method_tok */
	GW_METHOD_GET,
	GW_METHOD_HEAD,
	GW_METHOD_POST,
	GW_METHOD_PUT,
	GW_METHOD_DELETE,
	GW_METHOD_CONNECT,
	GW_METHOD_OPTIONS,
	GW_METHOD_TRACE,
	GW_METHOD_PATCH,
};

enum gw_http_form {
	GW_FORM_ORIGIN = 0, /* /path?query */
	GW_FORM_ABSOLUTE,   /* http://authority/path?query */
	GW_FORM_AUTHORITY,  /* host:port (CONNECT only) */
	GW_FORM_ASTERISK,   /* * (OPTIONS only) */
};

struct gw_http_req {
	struct gw_http_head h;
	uint8_t method;			/* enum gw_http_method */
	uint8_t form;			/* enum gw_http_form */
	bool expect_continue;		/* Expect: 100-continue on HTTP/1.1 */
	bool upgrade;			/* Upgrade + Connection: upgrade on 1.1 */
	int32_t host_idx;		/* index of the Host field, -1 if none */
	struct gw_http_span method_tok; /* the method as sent */
	struct gw_http_span target;	/* the whole request-target */
	struct gw_http_span path;	/* origin/absolute: path, len 0 means "/";
					 * asterisk: "*" */
	struct gw_http_span query;	/* after '?' (without it); len 0 if none */
	bool has_query;			/* a '?' was present (even if empty) */
	struct gw_http_span authority;	/* absolute-/authority-form authority,
					 * else the Host value (RFC 9112 3.2.2) */
};

/* Prepares req for a new request head; hdrs[cap] receives the fields, lim
 * (copied; NULL: defaults) bounds the head. Returns nothing. */
void gw_http_req_init(struct gw_http_req *req, struct gw_http_hdr *hdrs, uint16_t cap,
		      const struct gw_http_limits *lim);

/* Parses buf[0, len), which starts at the first byte of the request
 * (leading CRLFs allowed) and grows between calls. Returns the head length
 * in bytes (> 0) once the head is complete and valid, 0 when more bytes are
 * needed, or -EBADMSG with req->h.status / req->h.reason set. CONNECT is
 * refused with 501 (the gateway does not tunnel). */
int gw_http_req_parse(struct gw_http_req *req, const char *buf, size_t len);

/* ---- responses ----------------------------------------------------------- */

struct gw_http_resp {
	struct gw_http_head h;
	uint16_t code;			   /* 100..599 */
	bool head_request;		   /* answers a HEAD: no body */
	bool interim;			   /* 1xx other than 101: another head follows */
	bool switching;			   /* 101: the connection becomes a tunnel */
	struct gw_http_span reason_phrase; /* may be empty */
};

/* Prepares resp for the head answering a request; head_request: the
 * request was HEAD (the response has no body whatever it says). */
void gw_http_resp_init(struct gw_http_resp *resp, struct gw_http_hdr *hdrs, uint16_t cap,
		       const struct gw_http_limits *lim, bool head_request);

/* As gw_http_req_parse() for an upstream response head. Errors carry 502.
 * After an interim (1xx) head, call gw_http_resp_init() again and parse the
 * next head from buf + rc. Returns head length, 0 or -EBADMSG. */
int gw_http_resp_parse(struct gw_http_resp *resp, const char *buf, size_t len);

/* ---- chunked bodies -------------------------------------------------------- */

struct gw_chunk_limits {
	uint32_t max_ext;     /* chunk-extension bytes per chunk (0: 256) */
	uint32_t max_trailer; /* trailer section bytes (0: 8192) */
	uint64_t max_body;    /* payload bytes: 413 beyond (0: no limit) */
	uint64_t max_chunk;   /* one chunk's size: 400 beyond (0: GW_CHUNK_SIZE_MAX) */
};

/* The largest chunk size accepted by default (1 TiB): far above any real
 * chunk, and far below 2^63, so no later reader of the size, signed or
 * not, can see it wrap. */
#define GW_CHUNK_SIZE_MAX (1ull << 40)

/* A streaming chunked-body validator (RFC 9112 7.1). */
struct gw_chunk {
	uint64_t left;	/* payload bytes of the current chunk to come */
	uint64_t total; /* payload bytes so far */
	uint64_t max_body;
	uint64_t max_chunk;
	uint32_t max_ext, ext_len;
	uint32_t max_trailer, trailer_len;
	uint8_t state, digits;
	uint8_t tname_len;  /* the trailer field name so far (lower case) */
	char tname[23];
	bool upstream;	    /* errors carry 502 */
	uint16_t status;    /* on error */
	const char *reason; /* on error */
};

/* One step's result: bytes [0, used) of the slice were consumed; of them
 * [data_off, data_off + data_len) are payload, the rest chunk framing. */
struct gw_chunk_res {
	size_t used;
	size_t data_off;
	size_t data_len;
};

#define GW_CHUNK_MORE 0
#define GW_CHUNK_DONE 1

/* Prepares a decoder; upstream: errors carry 502 instead of 400/413. */
void gw_chunk_init(struct gw_chunk *c, const struct gw_chunk_limits *lim, bool upstream);

/* Consumes framing bytes and at most one run of payload from p[0, len),
 * stopping after that run. Returns GW_CHUNK_DONE when the body (last chunk
 * and trailer section) ended within r->used, GW_CHUNK_MORE otherwise (call
 * again with p + r->used), or -EBADMSG with c->status/c->reason. */
int gw_chunk_parse(struct gw_chunk *c, const char *p, size_t len, struct gw_chunk_res *r);

/* Validates as much of p[0, len) as belongs to the body, for forwarding the
 * bytes unchanged; *used says how many. Returns GW_CHUNK_DONE, GW_CHUNK_MORE
 * (all len bytes used) or -EBADMSG. */
int gw_chunk_scan(struct gw_chunk *c, const char *p, size_t len, size_t *used);

/* ---- building heads -------------------------------------------------------- */

/* A header to add: NUL-terminated name and value. */
struct gw_http_kv {
	const char *name;
	const char *value;
};

/* The Connection field the builders write. */
enum gw_http_conn {
	GW_CONN_NONE = 0,   /* none (HTTP/1.1 default: keep-alive) */
	GW_CONN_CLOSE,	    /* Connection: close */
	GW_CONN_KEEP_ALIVE, /* Connection: keep-alive (for 1.0 peers) */
	GW_CONN_UPGRADE,    /* Connection: upgrade, Upgrade kept */
};

/* How to forward a request upstream. Strings need not be NUL-terminated
 * unless said; NULL/0 means "not given". */
struct gw_http_fwd {
	const char *target; /* new request-target; NULL: path?query */
	size_t target_len;
	const char *host; /* Host to send; NULL: req->authority */
	size_t host_len;
	const char *const *remove; /* NUL-terminated names to drop */
	size_t n_remove;
	const struct gw_http_kv *add; /* fields to append */
	size_t n_add;
	const char *client_addr;   /* appended to X-Forwarded-For; NULL: the
				    * field passes as received */
	const char *proto;	   /* X-Forwarded-Proto (replaces any) */
	const char *request_id;	   /* X-Request-Id when the request has no
				    * usable one (see gw_http_request_id) */
	const uint8_t *trace_rand; /* 24 random bytes for a new traceparent
				    * when the request has no valid one */
	uint8_t trace_flags;	   /* flags of a generated traceparent */
	uint8_t conn;		   /* enum gw_http_conn */
};

/* Writes the upstream request head for req (parsed from buf) into out[cap]:
 * "METHOD target HTTP/1.1", Host first, the client's fields minus hop-by-hop
 * ones (Connection, Keep-Alive, Proxy-Connection, TE, Trailer, Upgrade unless
 * f->conn is GW_CONN_UPGRADE, every field named in Connection) and minus
 * f->remove, framing re-emitted canonically (one Content-Length or
 * "Transfer-Encoding: <codings>"), X-Forwarded-For/-Proto, X-Request-Id,
 * traceparent (tracestate dropped with an invalid traceparent), f->add, the
 * Connection field. Returns the length written or -ENOSPC (out too small),
 * -EINVAL (a given name/value is not a valid field). */
int gw_http_req_build(const struct gw_http_req *req, const char *buf, const struct gw_http_fwd *f,
		      char *out, size_t cap);

/* How to forward a response to the client. */
struct gw_http_rfwd {
	const char *const *remove;
	size_t n_remove;
	const struct gw_http_kv *add;
	size_t n_add;
	uint8_t conn; /* enum gw_http_conn */
};

/* Writes the client-side response head for resp (parsed from buf) into
 * out[cap]: "HTTP/1.1 code reason" (the canonical phrase when upstream sent
 * none), fields minus hop-by-hop ones and f->remove, framing canonical,
 * f->add, the Connection field. Returns the length, -ENOSPC or -EINVAL. */
int gw_http_resp_build(const struct gw_http_resp *resp, const char *buf,
		       const struct gw_http_rfwd *f, char *out, size_t cap);

/* Formats a complete response of the gateway's own: status line, extra
 * fields, Content-Type (when body_len and ctype), Content-Length, Connection:
 * close when close, and the body. Returns the length, -ENOSPC or -EINVAL. */
int gw_http_format_response(char *out, size_t cap, int code, const struct gw_http_kv *extra,
			    size_t n_extra, const char *ctype, const char *body, size_t body_len,
			    bool close);

/* ---- helpers ------------------------------------------------------------- */

/* The canonical reason phrase for code; "" for codes without one. */
const char *gw_http_reason(int code);

/* Index of the first field at or after `from` named name[name_len]
 * (case-insensitive), or -ENOENT. */
int gw_http_find(const struct gw_http_head *h, const char *buf, const char *name, size_t name_len,
		 int from);

/* Index of the first field at or after `from` with that id, or -ENOENT. */
int gw_http_find_id(const struct gw_http_head *h, enum gw_http_hdr_id id, int from);

/* The request's X-Request-Id when usable (exactly one, 1..128 visible
 * ASCII bytes): returns its index, else -ENOENT. */
int gw_http_request_id(const struct gw_http_req *req, const char *buf);

/* True when v[len] is a valid W3C traceparent (version-traceid-parentid-
 * flags, lowercase hex, version not ff, neither id all zeros). */
bool gw_http_traceparent_valid(const char *v, size_t len);

/* Formats "00-<trace id>-<parent id>-<flags>" from 24 random bytes (16 for
 * the trace id, 8 for the parent id; an all-zero id gets its last bit set)
 * into out[56] (NUL-terminated). Returns 55, the length. */
int gw_http_traceparent_format(char out[56], const uint8_t rnd[24], uint8_t flags);

#endif /* GW_HTTP1_H */
