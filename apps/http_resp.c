/* HTTP/1.1 response framing on http-parser (see http_resp.h). */
#include "http_resp.h"

#include <errno.h>

static int on_message_begin(http_parser *p)
{
	((struct tn_http_resp *)p->data)->in_msg = true;
	return 0;
}

static int on_message_complete(http_parser *p)
{
	struct tn_http_resp *r = p->data;

	r->in_msg = false;
	r->responses++;
	r->cb(r->arg, p->status_code, http_should_keep_alive(p) != 0);
	return 0;
}

/* Only the framing matters: the parser skips headers and bodies on its
 * own when no data callbacks are set. */
static const http_parser_settings settings = {
	.on_message_begin = on_message_begin,
	.on_message_complete = on_message_complete,
};

void tn_http_resp_init(struct tn_http_resp *r, tn_http_resp_cb cb, void *arg)
{
	http_parser_init(&r->p, HTTP_RESPONSE);
	r->p.data = r;
	r->cb = cb;
	r->arg = arg;
	r->responses = 0;
	r->in_msg = false;
}

int tn_http_resp_feed(struct tn_http_resp *r, const void *buf, size_t len)
{
	size_t n;

	if (HTTP_PARSER_ERRNO(&r->p) != HPE_OK)
		return -EBADMSG;
	if (len == 0)
		return 0; /* http-parser takes an empty buffer for the end of the stream */
	n = http_parser_execute(&r->p, &settings, buf, len);
	if (HTTP_PARSER_ERRNO(&r->p) != HPE_OK || n != len)
		return -EBADMSG;
	return 0;
}

int tn_http_resp_eof(struct tn_http_resp *r)
{
	if (HTTP_PARSER_ERRNO(&r->p) != HPE_OK)
		return -EBADMSG;
	/* A zero-length execute is how http-parser learns of the end: it
	 * completes a body that runs to the end, and fails
	 * (HPE_INVALID_EOF_STATE) on a response cut short. */
	http_parser_execute(&r->p, &settings, NULL, 0);
	if (HTTP_PARSER_ERRNO(&r->p) != HPE_OK || r->in_msg)
		return -EBADMSG;
	return 0;
}

bool tn_http_resp_idle(const struct tn_http_resp *r)
{
	return !r->in_msg && HTTP_PARSER_ERRNO(&r->p) == HPE_OK;
}

const char *tn_http_resp_error(const struct tn_http_resp *r)
{
	return http_errno_name(HTTP_PARSER_ERRNO(&r->p));
}
