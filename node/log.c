/*
 * log.c: skynet_error, which hands a formatted line to the logger service
 * (or writes it to stderr when there is none, before start-up or after
 * shutdown), and the per-service message logs switched on with LOGON.
 */
#include "log.h"
#include "handle.h"
#include "server.h"

#include <stdarg.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

void skynet_error(struct skynet_context *ctx, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *line = NULL;
	int len = vasprintf(&line, fmt, ap);
	va_end(ap);
	if (len < 0)
		return;
	uint32_t source = ctx ? skynet_context_handle(ctx) : 0;
	struct skynet_message msg = {
		.source = source,
		.session = 0,
		.data = line,
		.sz = (size_t)len | ((size_t)PTYPE_TEXT << MESSAGE_TYPE_SHIFT),
	};
	uint32_t logger = skynet_handle_findname("logger");
	if (logger && skynet_context_push(logger, &msg) == 0)
		return;
	fprintf(stderr, "[:%08x] %s\n", source, line);
	skynet_free(line);
}

static _Atomic uint32_t logger_handle;

void skynet_log_set_logger(uint32_t handle) { logger_handle = handle; }

void skynet_log_orphan(uint32_t dead, int type, uint32_t source,
		       const void *data, size_t sz)
{
	if (dead == logger_handle && type == PTYPE_TEXT)
		fprintf(stderr, "[:%08x] %.*s\n", source, (int)sz,
			data ? (const char *)data : "");
}

void skynet_log_timestamp(char *buf, size_t size)
{
	struct timeval tv;
	gettimeofday(&tv, NULL);
	struct tm tm;
	localtime_r(&tv.tv_sec, &tm);
	size_t n = strftime(buf, size, "%Y-%m-%d %H:%M:%S", &tm);
	snprintf(buf + n, size - n, ".%03d", (int)(tv.tv_usec / 1000));
}

FILE *skynet_log_open(uint32_t handle)
{
	const char *logpath = skynet_getenv("logpath");
	if (logpath == NULL) {
		skynet_error(NULL, "LOGON needs the `logpath` config key");
		return NULL;
	}
	char path[1024];
	snprintf(path, sizeof(path), "%s/%08x.log", logpath, handle);
	FILE *f = fopen(path, "ab");
	if (f == NULL) {
		skynet_error(NULL, "cannot open message log %s", path);
		return NULL;
	}
	char stamp[32];
	skynet_log_timestamp(stamp, sizeof(stamp));
	fprintf(f, "open time: %s\n", stamp);
	fflush(f);
	return f;
}

void skynet_log_close(FILE *f, uint32_t handle)
{
	char stamp[32];
	skynet_log_timestamp(stamp, sizeof(stamp));
	fprintf(f, "close time: %s (service :%08x)\n", stamp, handle);
	fclose(f);
}

void skynet_log_message(FILE *f, uint32_t source, int type, int session,
			const void *data, size_t sz)
{
	char stamp[32];
	skynet_log_timestamp(stamp, sizeof(stamp));
	fprintf(f, "%s :%08x %d %d %zu ", stamp, source, type, session, sz);
	const unsigned char *bytes = data;
	for (size_t i = 0; bytes && i < sz; i++)
		fprintf(f, "%02x", bytes[i]);
	fputc('\n', f);
	fflush(f);
}
