/*
 * start.c: starts the runtime's threads (workers, housekeeper, socket,
 * signals), launches the logger and bootstrap services, and tears
 * everything down once the last service is gone.
 */
#include "start.h"
#include "env.h"
#include "handle.h"
#include "housekeeper.h"
#include "module.h"
#include "monitor.h"
#include "mq.h"
#include "scheduler.h"
#include "server.h"
#include "shutdown.h"
#include "skynet_socket.h"
#include "timer.h"

#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define SIGNAL_STOP SIGUSR2

struct worker_arg {
	struct skynet_monitor *monitor;
	int index;
	int weight;
};

static void *worker_main(void *p)
{
	struct worker_arg *arg = p;
	struct message_queue *q = NULL;
	skynet_sched_attach(arg->index);
	while (!skynet_sched_stopping()) {
		q = skynet_context_message_dispatch(arg->monitor, q, arg->weight);
		if (q == NULL)
			q = skynet_sched_wait();
	}
	if (q)
		skynet_globalmq_push(q); /* drain_queues frees it */
	skynet_sched_detach();
	return NULL;
}

static void *socket_main(void *p)
{
	(void)p;
	while (skynet_socket_poll())
		;
	return NULL;
}

struct housekeeper_arg {
	struct skynet_monitor **monitors;
	int count;
};

static void *housekeeper_main(void *p)
{
	struct housekeeper_arg *arg = p;
	skynet_housekeeper_run(arg->monitors, arg->count);
	skynet_sched_stop();
	skynet_socket_exit();
	return NULL;
}

static void reopen_log(void)
{
	uint32_t logger = skynet_handle_findname("logger");
	if (logger)
		skynet_send(NULL, 0, logger, PTYPE_SYSTEM, 0, NULL, 0);
}

static void *signal_main(void *p)
{
	sigset_t *set = p;
	for (;;) {
		int sig = 0;
		if (sigwait(set, &sig) != 0 || sig == SIGNAL_STOP)
			return NULL;
		if (sig == SIGHUP)
			reopen_log();
		else
			skynet_shutdown_begin(0);
	}
}

static void block_signals(sigset_t *set)
{
	signal(SIGPIPE, SIG_IGN);
	sigemptyset(set);
	sigaddset(set, SIGTERM);
	sigaddset(set, SIGINT);
	sigaddset(set, SIGHUP);
	sigaddset(set, SIGNAL_STOP);
	pthread_sigmask(SIG_BLOCK, set, NULL);
}

static int worker_weight(int i) { return i == 0 ? -1 : (i - 1) % 4; }

static void start_threads(int workers, pthread_t *threads,
			  struct worker_arg *args, struct housekeeper_arg *hk)
{
	pthread_create(&threads[0], NULL, housekeeper_main, hk);
	pthread_create(&threads[1], NULL, socket_main, NULL);
	for (int i = 0; i < workers; i++) {
		args[i].monitor = hk->monitors[i];
		args[i].index = i;
		args[i].weight = worker_weight(i);
		pthread_create(&threads[2 + i], NULL, worker_main, &args[i]);
	}
}

static void run_threads(int workers, sigset_t *signals)
{
	pthread_t signal_thread;
	pthread_create(&signal_thread, NULL, signal_main, signals);
	struct skynet_monitor **monitors = skynet_malloc(sizeof(*monitors) * workers);
	for (int i = 0; i < workers; i++)
		monitors[i] = skynet_monitor_new();
	struct housekeeper_arg hk = { monitors, workers };
	pthread_t *threads = skynet_malloc(sizeof(*threads) * (workers + 2));
	struct worker_arg *args = skynet_malloc(sizeof(*args) * workers);
	start_threads(workers, threads, args, &hk);
	for (int i = 0; i < workers + 2; i++)
		pthread_join(threads[i], NULL);
	pthread_kill(signal_thread, SIGNAL_STOP);
	pthread_join(signal_thread, NULL);
	for (int i = 0; i < workers; i++)
		skynet_monitor_delete(monitors[i]);
	skynet_free(monitors);
	skynet_free(threads);
	skynet_free(args);
}

/* "module args" → a new service; the module name ends at the first space. */
static int launch(const char *cmdline)
{
	char module[64];
	const char *space = strchr(cmdline, ' ');
	size_t len = space ? (size_t)(space - cmdline) : strlen(cmdline);
	if (len >= sizeof(module))
		len = sizeof(module) - 1;
	memcpy(module, cmdline, len);
	module[len] = '\0';
	return skynet_context_launch(module, space ? space + 1 : NULL) ? 0 : -1;
}

/* Every service is gone, so every queue left is marked for release. */
static void drain_queues(void)
{
	struct message_queue *q;
	while ((q = skynet_globalmq_pop()) != NULL)
		skynet_context_drop_queue(q);
}

static void free_runtime(void)
{
	drain_queues();
	skynet_socket_free();
	skynet_module_free();
	skynet_timer_free();
	skynet_handle_free();
	skynet_sched_free();
	skynet_mq_free();
	skynet_housekeeper_free();
}

int skynet_start(const struct skynet_config *config)
{
	sigset_t signals;
	block_signals(&signals);
	skynet_housekeeper_init();
	skynet_handle_init(config->harbor);
	skynet_mq_init();
	skynet_sched_init(config->thread);
	skynet_module_init(config->cpath);
	skynet_timer_init();
	skynet_socket_init();
	skynet_context_profile(config->profile);
	int status = 0;
	if (skynet_context_launch(config->logservice, config->logger) == 0) {
		fprintf(stderr, "skynode: cannot launch the logger service %s %s\n",
			config->logservice, config->logger ? config->logger : "");
		status = 1;
	} else if (launch(config->bootstrap)) {
		fprintf(stderr, "skynode: bootstrap `%s` failed\n", config->bootstrap);
		status = 1;
	}
	if (status)
		skynet_handle_retireall();
	run_threads(config->thread, &signals);
	free_runtime();
	return status ? status : skynet_shutdown_exit_status();
}
