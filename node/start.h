/*
 * start.h: bringing the node up and running it until it stops.
 */
#ifndef SKYNET_START_H
#define SKYNET_START_H

struct skynet_config {
	int thread;
	int harbor;
	int profile;
	const char *cpath;
	const char *bootstrap;
	const char *logger;     /* log file, NULL for stdout */
	const char *logservice; /* module of the logger service */
};

/* Returns the process exit status. */
int skynet_start(const struct skynet_config *config);

#endif
