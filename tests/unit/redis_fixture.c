/*
 * redis_fixture.c: start and stop a private redis-server for tests
 * (see redis_fixture.h).
 */
#include "redis_fixture.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define READY_WAIT_MS 5000
#define REAP_WAIT_MS 2000

static void sleep_ms(int ms) {
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };
	nanosleep(&ts, NULL);
}

int redis_fixture_free_port(void) {
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof sa;
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	int port = -1;
	if (fd < 0)
		return -1;
	if (bind(fd, (struct sockaddr *)&sa, sizeof sa) == 0 &&
	    getsockname(fd, (struct sockaddr *)&sa, &len) == 0)
		port = ntohs(sa.sin_port);
	close(fd);
	return port;
}

int redis_fixture_init(struct redis_fixture *f, int port, const char *const *extra) {
	memset(f, 0, sizeof *f);
	f->port = port ? port : redis_fixture_free_port();
	if (f->port <= 0)
		return -1;
	snprintf(f->dir, sizeof f->dir, "/tmp/redis-fixture-XXXXXX");
	if (!mkdtemp(f->dir))
		return -1;
	snprintf(f->unix_path, sizeof f->unix_path, "%s/redis.sock", f->dir);
	snprintf(f->address, sizeof f->address, "127.0.0.1:%d", f->port);
	for (int i = 0; extra && extra[i] && i < REDIS_FIXTURE_MAX_ARGS; i++)
		f->extra[i] = extra[i];
	return 0;
}

static void exec_sentinel(const struct redis_fixture *f) {
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	execlp("redis-sentinel", "redis-sentinel", f->sentinel_conf, (char *)NULL);
	_exit(127);
}

static void exec_server(const struct redis_fixture *f) {
	char port[16], logfile[128];
	const char *argv[32];
	int n = 0;
	snprintf(port, sizeof port, "%d", f->port);
	snprintf(logfile, sizeof logfile, "%s/redis.log", f->dir);
	argv[n++] = "redis-server";
	argv[n++] = "--port"; argv[n++] = port;
	argv[n++] = "--bind"; argv[n++] = "127.0.0.1";
	argv[n++] = "--unixsocket"; argv[n++] = f->unix_path;
	argv[n++] = "--dir"; argv[n++] = f->dir;
	argv[n++] = "--logfile"; argv[n++] = logfile;
	argv[n++] = "--save"; argv[n++] = "";
	argv[n++] = "--appendonly"; argv[n++] = "no";
	argv[n++] = "--enable-debug-command"; argv[n++] = "local";
	for (int i = 0; f->extra[i]; i++)
		argv[n++] = f->extra[i];
	argv[n] = NULL;
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	execvp(argv[0], (char *const *)argv);
	_exit(127);
}

/* Ready when a PING on the port gets any reply (even NOAUTH). */
static int answers_ping(int port) {
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port),
	                          .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	int fd = socket(AF_INET, SOCK_STREAM, 0), ok = 0;
	if (fd < 0)
		return 0;
	if (connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0 &&
	    write(fd, "PING\r\n", 6) == 6) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		char buf[64];
		ok = poll(&p, 1, 200) == 1 && read(fd, buf, sizeof buf) > 0;
	}
	close(fd);
	return ok;
}

int redis_fixture_launch(struct redis_fixture *f) {
	pid_t pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		if (f->sentinel_conf[0])
			exec_sentinel(f);
		exec_server(f);
	}
	f->pid = pid;
	for (int waited = 0; waited < READY_WAIT_MS; waited += 10) {
		if (answers_ping(f->port))
			return 0;
		if (waitpid(pid, NULL, WNOHANG) == pid) {
			f->pid = 0;
			fprintf(stderr, "redis server exited at start; see %s/redis.log\n", f->dir);
			return -1;
		}
		sleep_ms(10);
	}
	fprintf(stderr, "redis-server on port %d not ready within %d ms\n", f->port, READY_WAIT_MS);
	redis_fixture_kill(f);
	return -1;
}

int redis_fixture_start(struct redis_fixture *f, int port, const char *const *extra) {
	if (redis_fixture_init(f, port, extra) < 0)
		return -1;
	return redis_fixture_launch(f);
}

int redis_fixture_start_sentinel(struct redis_fixture *f, const char *name, int master_port,
                                 int quorum) {
	if (redis_fixture_init(f, 0, NULL) < 0)
		return -1;
	snprintf(f->sentinel_conf, sizeof f->sentinel_conf, "%s/sentinel.conf", f->dir);
	FILE *conf = fopen(f->sentinel_conf, "w");
	if (!conf)
		return -1;
	fprintf(conf,
	        "port %d\nbind 127.0.0.1\ndir %s\nlogfile %s/redis.log\n"
	        "sentinel monitor %s 127.0.0.1 %d %d\n"
	        "sentinel down-after-milliseconds %s 500\n"
	        "sentinel failover-timeout %s 2000\n",
	        f->port, f->dir, f->dir, name, master_port, quorum, name, name);
	if (fclose(conf) != 0)
		return -1;
	return redis_fixture_launch(f);
}

void redis_fixture_signal(struct redis_fixture *f, int sig) {
	if (f->pid > 0)
		kill(f->pid, sig);
}

void redis_fixture_kill(struct redis_fixture *f) {
	if (f->pid <= 0)
		return;
	kill(f->pid, SIGKILL);
	for (int waited = 0; waited < REAP_WAIT_MS; waited += 5) {
		if (waitpid(f->pid, NULL, WNOHANG) == f->pid)
			break;
		sleep_ms(5);
	}
	f->pid = 0;
}

/* The folder holds only files the server made (socket, log, configs). */
static void remove_folder(const char *dir) {
	DIR *d = opendir(dir);
	struct dirent *e;
	char path[384];
	while (d && (e = readdir(d)) != NULL) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
		unlink(path);
	}
	if (d)
		closedir(d);
	rmdir(dir);
}

void redis_fixture_stop(struct redis_fixture *f) {
	redis_fixture_kill(f);
	if (f->dir[0])
		remove_folder(f->dir);
	f->dir[0] = '\0';
}
