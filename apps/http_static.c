/* Static files under --root (see http.h).
 *
 * The URL path is percent-decoded, then refused (404) if it has a NUL or
 * a ".." segment; the file is opened relative to the root's descriptor
 * with openat2(RESOLVE_BENEATH), so neither ".." nor a symbolic link nor
 * an absolute path leads out of the root (the kernel checks every
 * component).  Directories answer with their index.html.  Regular files
 * only; Content-Type by extension, Content-Length from fstat, the bytes
 * in 64 KiB reads.
 *
 * Known limit: open, fstat and pread are system calls on the core's
 * thread, and a slow disk stalls every connection of that core.  Files
 * on tmpfs or in the page cache take microseconds; a cache of small
 * files in memory is the next step if that matters. */
#include "http.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#define PATH_MAX_LEN 1024
#define CHUNK (64u * 1024)

static const struct {
	const char *ext, *type;
} types[] = {
	{ "html", "text/html; charset=utf-8" },
	{ "htm", "text/html; charset=utf-8" },
	{ "txt", "text/plain; charset=utf-8" },
	{ "css", "text/css; charset=utf-8" },
	{ "js", "text/javascript; charset=utf-8" },
	{ "json", "application/json" },
	{ "xml", "application/xml" },
	{ "svg", "image/svg+xml" },
	{ "png", "image/png" },
	{ "jpg", "image/jpeg" },
	{ "jpeg", "image/jpeg" },
	{ "gif", "image/gif" },
	{ "webp", "image/webp" },
	{ "ico", "image/x-icon" },
	{ "wasm", "application/wasm" },
	{ "pdf", "application/pdf" },
	{ "gz", "application/gzip" },
	{ "bin", "application/octet-stream" },
};

static const char *content_type(const char *path)
{
	const char *dot = strrchr(path, '.'), *slash = strrchr(path, '/');

	if (dot && (!slash || dot > slash))
		for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++)
			if (strcasecmp(dot + 1, types[i].ext) == 0)
				return types[i].type;
	return "application/octet-stream";
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = (char)(c | 0x20);
	return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* Decodes path into out (relative: no leading '/'; "" for the root).
 * false for a bad escape, a NUL, a ".." segment or a path too long. */
static bool decode(const char *path, size_t len, char *out, size_t cap)
{
	size_t n = 0;

	for (size_t i = 0; i < len; i++) {
		char c = path[i];

		if (c == '%') {
			int hi, lo;

			if (i + 2 >= len || (hi = hexval(path[i + 1])) < 0 ||
			    (lo = hexval(path[i + 2])) < 0)
				return false;
			c = (char)(hi * 16 + lo);
			i += 2;
		}
		if (c == '\0' || n + 1 >= cap)
			return false;
		out[n++] = c;
	}
	out[n] = '\0';
	/* Segment by segment: ".." anywhere is refused outright. */
	for (char *s = out; *s;) {
		size_t seg = strcspn(s, "/");

		if (seg == 2 && s[0] == '.' && s[1] == '.')
			return false;
		s += seg;
		s += *s == '/';
	}
	/* Relative to the root: drop the leading slashes. */
	n = strspn(out, "/");
	memmove(out, out + n, strlen(out + n) + 1);
	return true;
}

static int open_beneath(int root, const char *rel)
{
	struct open_how how = {
		.flags = O_RDONLY | O_CLOEXEC | O_NOCTTY,
		.resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS,
	};

	return (int)syscall(SYS_openat2, root, *rel ? rel : ".", &how, sizeof(how));
}

/* Sends fd's len bytes after the header; 0 or -errno. */
static int send_file(struct http_req *r, int fd, uint64_t len)
{
	uint8_t *buf = malloc(CHUNK);
	uint64_t off = 0;
	int err = 0;

	if (!buf)
		return -ENOMEM;
	while (off < len && !err) {
		size_t want = len - off < CHUNK ? (size_t)(len - off) : CHUNK;
		ssize_t n = pread(fd, buf, want, (off_t)off);
		struct iovec iov;

		if (n <= 0) {
			/* The file shrank or failed under us: the header
			 * promised more, so the connection must end. */
			err = n < 0 ? -errno : -EIO;
			break;
		}
		iov.iov_base = buf;
		iov.iov_len = (size_t)n;
		err = http_write(r, &iov, 1);
		off += (uint64_t)n;
	}
	free(buf);
	return err;
}

int http_static(struct http_req *r, const char *path, size_t len)
{
	char rel[PATH_MAX_LEN + sizeof("/index.html")];
	struct stat sb;
	int fd, err;

	if (!decode(path, len, rel, PATH_MAX_LEN))
		return http_error(r, 404, NULL);
	fd = open_beneath(r->srv->cfg->root_fd, rel);
	if (fd >= 0 && fstat(fd, &sb) == 0 && S_ISDIR(sb.st_mode)) {
		size_t n = strlen(rel);

		close(fd);
		snprintf(rel + n, sizeof(rel) - n, "%sindex.html", n && rel[n - 1] != '/' ? "/" : "");
		fd = open_beneath(r->srv->cfg->root_fd, rel);
	}
	if (fd < 0) {
		/* EXDEV: the path leads out of the root. */
		if (errno == EACCES || errno == EPERM)
			return http_error(r, 403, NULL);
		if (errno == ENOENT || errno == ENOTDIR || errno == EXDEV || errno == ELOOP ||
		    errno == ENAMETOOLONG)
			return http_error(r, 404, NULL);
		return http_error(r, 500, NULL);
	}
	if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
		close(fd);
		return http_error(r, 404, NULL);
	}
	err = http_respond_head(r, 200, content_type(rel), NULL, (uint64_t)sb.st_size);
	if (!err && r->p.method != HTTP_HEAD)
		err = send_file(r, fd, (uint64_t)sb.st_size);
	close(fd);
	return err;
}
