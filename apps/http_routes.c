/* What answers a request (see http.h):
 *
 *   GET|HEAD /hello      "Hello, world!\n"
 *   POST /echo           the request body back (chunked bodies too)
 *   GET /ws/echo         WebSocket: every message back to its sender
 *   GET /ws/chat         WebSocket: every message to every chat client
 *                        of this core (the room is per core)
 *   GET|HEAD /...        a file under --root (/ is index.html there);
 *                        without --root, / is a short text page
 *
 * Anything else is 404; a known path with another method 405 (with
 * Allow); the WebSocket paths without an Upgrade 426. */
#include "http.h"

#include <errno.h>
#include <string.h>

static const char hello[] = "Hello, world!\n";
static const char index_txt[] =
	"tern-httpd: HTTP/1.1 on Tern's TCP streams\n"
	"  GET /hello, POST /echo, WebSocket /ws/echo and /ws/chat\n";

/* (Per thread: each core's server builds its own.) */
static __thread struct http_fixed hello_fixed = {
	.ctype = "text/plain; charset=utf-8",
	.body = hello,
	.len = sizeof(hello) - 1,
};

static bool is_get(const struct http_req *r)
{
	return r->p.method == HTTP_GET || r->p.method == HTTP_HEAD;
}

/* The URL's path, undecoded (origin form, or the path of an absolute
 * URL); false if the URL does not parse. */
static bool url_path(const struct http_req *r, const char **path, size_t *len)
{
	const char *url = r->arena + r->url_off;
	struct http_parser_url u;

	/* The usual origin form, "/path" without a query or fragment: the
	 * path is the URL, whose bytes the request parser has checked
	 * with the same rules (parse_url_char) as http_parser_parse_url,
	 * which cost 240 instructions a request. */
	if (r->url_len && url[0] == '/' && r->p.method != HTTP_CONNECT &&
	    !memchr(url, '?', r->url_len) && !memchr(url, '#', r->url_len)) {
		*path = url;
		*len = r->url_len;
		return true;
	}
	http_parser_url_init(&u);
	if (http_parser_parse_url(url, r->url_len, r->p.method == HTTP_CONNECT, &u) != 0 ||
	    !(u.field_set & (1 << UF_PATH)))
		return false;
	*path = url + u.field_data[UF_PATH].off;
	*len = u.field_data[UF_PATH].len;
	return true;
}

static bool path_is(const char *p, size_t len, const char *want)
{
	return len == strlen(want) && memcmp(p, want, len) == 0;
}

int http_route(struct http_req *r)
{
	const char *path;
	size_t len;

	if (!url_path(r, &path, &len) || path[0] != '/')
		return http_error(r, 400, NULL);
	if (path_is(path, len, "/hello")) {
		if (!is_get(r))
			return http_error(r, 405, "Allow: GET, HEAD\r\n");
		return http_respond_fixed(r, &hello_fixed);
	}
	if (path_is(path, len, "/echo")) {
		const char *ct = http_hdr(r, HTTP_H_CONTENT_TYPE);

		if (r->p.method != HTTP_POST)
			return http_error(r, 405, "Allow: POST\r\n");
		/* (A type with a CR or LF in it cannot come through the
		 * parser, so it is safe to repeat.) */
		return http_respond(r, 200, ct && *ct ? ct : "application/octet-stream", NULL,
				    r->body, (size_t)r->body_len);
	}
	if (path_is(path, len, "/ws/echo") || path_is(path, len, "/ws/chat")) {
		if (r->p.method != HTTP_GET)
			return http_error(r, 405, "Allow: GET\r\n");
		if (!r->p.upgrade || !http_ws_wanted(r))
			return http_error(r, 426, "Upgrade: websocket\r\nConnection: Upgrade\r\n");
		return http_ws_serve(r, path_is(path, len, "/ws/chat"));
	}
	if (r->srv->cfg->root_fd >= 0) {
		if (!is_get(r))
			return http_error(r, 405, "Allow: GET, HEAD\r\n");
		return http_static(r, path, len);
	}
	if (path_is(path, len, "/")) {
		if (!is_get(r))
			return http_error(r, 405, "Allow: GET, HEAD\r\n");
		return http_respond(r, 200, "text/plain; charset=utf-8", NULL, index_txt,
				    sizeof(index_txt) - 1);
	}
	return http_error(r, 404, NULL);
}
