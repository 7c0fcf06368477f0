/*
 * service_logger.c: the built-in logger service.  It writes each PTYPE_TEXT
 * message as one line, "[:source] text", to stdout or to the file named by
 * the `logger` config key (lines in a file carry a timestamp).  A
 * PTYPE_SYSTEM message (sent on SIGHUP) reopens the file, for log rotation.
 */
#include "log.h"
#include "skynet.h"

#include <stdio.h>
#include <string.h>

struct logger {
	FILE *out;
	char *path; /* NULL when writing to stdout */
};

void *logger_create(void)
{
	return skynet_calloc(1, sizeof(struct logger));
}

void logger_release(void *p)
{
	struct logger *lg = p;
	if (lg->path) {
		fclose(lg->out);
		skynet_free(lg->path);
	}
	skynet_free(lg);
}

static void reopen(struct logger *lg)
{
	if (lg->path == NULL)
		return;
	FILE *f = freopen(lg->path, "a", lg->out);
	if (f == NULL) {
		fprintf(stderr, "logger: cannot reopen %s\n", lg->path);
		lg->out = stderr;
		skynet_free(lg->path);
		lg->path = NULL;
		return;
	}
	lg->out = f;
}

static int log_line(struct skynet_context *ctx, void *ud, int type,
		    int session, uint32_t source, const void *msg, size_t sz)
{
	(void)ctx;
	(void)session;
	struct logger *lg = ud;
	if (type == PTYPE_SYSTEM) {
		reopen(lg);
		return 0;
	}
	if (type != PTYPE_TEXT)
		return 0;
	/* One line at a time: services may write to stdout too (io.write). */
	flockfile(lg->out);
	if (lg->path) {
		char stamp[32];
		skynet_log_timestamp(stamp, sizeof(stamp));
		fprintf(lg->out, "%s ", stamp);
	}
	fprintf(lg->out, "[:%08x] ", source);
	fwrite(msg, sz, 1, lg->out);
	fputc('\n', lg->out);
	fflush(lg->out);
	funlockfile(lg->out);
	return 0;
}

int logger_init(void *p, struct skynet_context *ctx, const char *parm)
{
	struct logger *lg = p;
	if (parm && parm[0]) {
		lg->out = fopen(parm, "a");
		if (lg->out == NULL) {
			fprintf(stderr, "logger: cannot open %s\n", parm);
			return 1;
		}
		lg->path = skynet_strdup(parm);
	} else {
		lg->out = stdout;
	}
	skynet_callback(ctx, lg, log_line);
	skynet_command(ctx, "REG", ".logger");
	skynet_log_set_logger(skynet_context_handle(ctx));
	return 0;
}
