/*
 * skynode_ctl.c: skynode-ctl, the operator's tool for a cluster coordinated
 * through Redis.  It reads the coordinator's keys directly (layout in
 * coord/README.md) with hiredis' synchronous API, so it works whether or not
 * any node is up:
 *
 *   status          master, epoch, lease left, nodes (address, age), names
 *   nodes           live nodes
 *   names [glob]    global names and their owners
 *   resign [node]   ask the master to hand over cleanly, wait for the new one
 *   watch           print the events channel until interrupted
 *
 * Human tables by default; --json prints one JSON object per line.  The
 * Redis address and prefix come from a node's config file (-c) or options.
 * Exit status: 0 done, 1 usage or a command that could not be done,
 * 2 Redis unreachable or failing.
 */
#include <errno.h>
#include <fnmatch.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include <hiredis/hiredis.h>

#include "config.h"

#define EXIT_USAGE 1
#define EXIT_REDIS 2
#define CONNECT_TIMEOUT_MS 1000
#define COMMAND_TIMEOUT_MS 1000
#define RESIGN_WAIT_MS 5000

struct options {
	char redis[256];        /* --redis, or the address found at connect time */
	char config_redis[256]; /* coord_redis of -c CONFIG */
	char sentinels[512];
	char sentinel_master[128];
	char prefix[128];
	char user[128];
	char password[256];
	int db;
	int json;
	const char *command;
	const char *arg;
};

struct node_row {
	char *name;
	char *address;
	long long start_ms;
};

struct name_row {
	char *name;
	char *node;
	long long addr;
};

struct master_info {
	char node[128];
	long long epoch;     /* 0: no master */
	long long lease_ms;  /* PTTL of the master key */
	long long highest;   /* P:epoch, the highest epoch issued */
};

static const char *redis_address = "";

static void fail(int status, const char *fmt, ...)
	__attribute__((noreturn, format(printf, 2, 3)));

static void fail(int status, const char *fmt, ...)
{
	va_list ap;
	fputs("skynode-ctl: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(status);
}

static void usage(FILE *out)
{
	fputs("usage: skynode-ctl [-c CONFIG] [--redis HOST:PORT|/path.sock] [--prefix P]\n"
	      "                   [--password PW] [--db N] [--json] COMMAND [ARG]\n"
	      "\n"
	      "commands:\n"
	      "  status          master, epoch, lease left, nodes and number of names\n"
	      "  nodes           live nodes with their cluster address and age\n"
	      "  names [GLOB]    global names (optionally matching GLOB) and owners\n"
	      "  resign [NODE]   ask the master (only if it is NODE) to hand over\n"
	      "                  cleanly; waits until another node is master\n"
	      "  watch           print coordinator events until interrupted\n"
	      "\n"
	      "-c CONFIG reads coord_redis, coord_prefix, coord_user, coord_password,\n"
	      "coord_db, coord_sentinels and coord_sentinel_master from a node's\n"
	      "config file (with sentinels and no --redis, it asks them for the\n"
	      "current master); options given after it win.\n"
	      "--json prints one JSON object per line.\n"
	      "Exit status: 0 done, 1 usage or command failed, 2 Redis unreachable.\n",
	      out);
}

/* ------------------------------------------------------------ options */

static void copy_option(char *dst, size_t size, const char *key, const char *value)
{
	if (strlen(value) >= size)
		fail(EXIT_USAGE, "%s is too long (%zu bytes at most)", key, size - 1);
	strcpy(dst, value);
}

static void set_db(struct options *o, const char *key, const char *value)
{
	char *end;
	long db = strtol(value, &end, 10);
	if (*value == '\0' || *end != '\0' || db < 0)
		fail(EXIT_USAGE, "%s must be a database number, not \"%s\"", key, value);
	o->db = (int)db;
}

static void config_key(void *ud, const char *key, const char *value)
{
	struct options *o = ud;
	if (strcmp(key, "coord_redis") == 0)
		copy_option(o->config_redis, sizeof o->config_redis, key, value);
	else if (strcmp(key, "coord_prefix") == 0)
		copy_option(o->prefix, sizeof o->prefix, key, value);
	else if (strcmp(key, "coord_user") == 0)
		copy_option(o->user, sizeof o->user, key, value);
	else if (strcmp(key, "coord_password") == 0)
		copy_option(o->password, sizeof o->password, key, value);
	else if (strcmp(key, "coord_db") == 0)
		set_db(o, key, value);
	else if (strcmp(key, "coord_sentinels") == 0)
		copy_option(o->sentinels, sizeof o->sentinels, key, value);
	else if (strcmp(key, "coord_sentinel_master") == 0)
		copy_option(o->sentinel_master, sizeof o->sentinel_master, key, value);
}

static void load_config(struct options *o, const char *path)
{
	char err[512];
	if (config_load(path, config_key, o, err, sizeof err) != 0)
		fail(EXIT_USAGE, "%s", err);
}

static const char *option_value(int argc, char **argv, int *i)
{
	if (*i + 1 >= argc)
		fail(EXIT_USAGE, "%s needs a value (see skynode-ctl -h)", argv[*i]);
	return argv[++*i];
}

static void parse_args(struct options *o, int argc, char **argv)
{
	int i;
	strcpy(o->prefix, "skynode");
	for (i = 1; i < argc && argv[i][0] == '-'; i++) {
		const char *a = argv[i];
		if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
			usage(stdout);
			exit(0);
		} else if (strcmp(a, "-c") == 0) {
			load_config(o, option_value(argc, argv, &i));
		} else if (strcmp(a, "--redis") == 0) {
			copy_option(o->redis, sizeof o->redis, a, option_value(argc, argv, &i));
		} else if (strcmp(a, "--prefix") == 0) {
			copy_option(o->prefix, sizeof o->prefix, a, option_value(argc, argv, &i));
		} else if (strcmp(a, "--password") == 0) {
			copy_option(o->password, sizeof o->password, a, option_value(argc, argv, &i));
		} else if (strcmp(a, "--db") == 0) {
			set_db(o, a, option_value(argc, argv, &i));
		} else if (strcmp(a, "--json") == 0) {
			o->json = 1;
		} else {
			fail(EXIT_USAGE, "unknown option %s (see skynode-ctl -h)", a);
		}
	}
	if (i >= argc)
		fail(EXIT_USAGE, "no command given (see skynode-ctl -h)");
	o->command = argv[i++];
	o->arg = i < argc ? argv[i++] : NULL;
	if (i < argc)
		fail(EXIT_USAGE, "unexpected argument \"%s\" (see skynode-ctl -h)", argv[i]);
	if (!o->redis[0] && !o->config_redis[0] && !o->sentinels[0])
		fail(EXIT_USAGE, "no Redis address: give --redis HOST:PORT or -c CONFIG "
		     "with coord_redis or coord_sentinels");
}

/* -------------------------------------------------------------- redis */

static struct timeval ms_to_timeval(int ms)
{
	struct timeval tv = {ms / 1000, (ms % 1000) * 1000};
	return tv;
}

static redisContext *open_link(const char *address)
{
	struct timeval tv = ms_to_timeval(CONNECT_TIMEOUT_MS);
	const char *colon = strrchr(address, ':');
	char host[256];
	if (strchr(address, '/'))
		return redisConnectUnixWithTimeout(address, tv);
	if (!colon || colon == address || (size_t)(colon - address) >= sizeof host)
		fail(EXIT_USAGE, "Redis address \"%s\" is not HOST:PORT or a socket path", address);
	memcpy(host, address, colon - address);
	host[colon - address] = '\0';
	return redisConnectWithTimeout(host, atoi(colon + 1), tv);
}

/* Runs a command; any error (link or Redis) ends the program. */
static redisReply *run(redisContext *c, const char *fmt, ...)
{
	va_list ap;
	redisReply *r;
	va_start(ap, fmt);
	r = redisvCommand(c, fmt, ap);
	va_end(ap);
	if (r == NULL)
		fail(EXIT_REDIS, "redis at %s: %s", redis_address,
		     c->err == REDIS_ERR_IO && errno == EAGAIN ? "no answer within 1 s" : c->errstr);
	if (r->type == REDIS_REPLY_ERROR)
		fail(EXIT_REDIS, "redis at %s: %s", redis_address, r->str);
	return r;
}

/* Asks one sentinel for the master's address; 0 and fills out on success. */
static int ask_sentinel(const char *sentinel, const char *master, char *out, size_t size)
{
	redisContext *c = open_link(sentinel);
	redisReply *r = NULL;
	int found = 0;
	if (c && !c->err) {
		redisSetTimeout(c, ms_to_timeval(COMMAND_TIMEOUT_MS));
		r = redisCommand(c, "SENTINEL get-master-addr-by-name %s", master);
	}
	if (r && r->type == REDIS_REPLY_ARRAY && r->elements == 2) {
		snprintf(out, size, "%s:%s", r->element[0]->str, r->element[1]->str);
		found = 1;
	}
	if (r)
		freeReplyObject(r);
	if (c)
		redisFree(c);
	return found ? 0 : -1;
}

/* The address to use: --redis; else, with coord_sentinels, the current
 * master from the first sentinel that knows it (as a node does); else
 * coord_redis. */
static void choose_address(struct options *o)
{
	char list[sizeof o->sentinels];
	if (o->redis[0])
		return;
	if (o->sentinels[0] == '\0') {
		memcpy(o->redis, o->config_redis, sizeof o->redis);
		return;
	}
	if (o->sentinel_master[0] == '\0')
		fail(EXIT_USAGE, "coord_sentinels needs coord_sentinel_master");
	memcpy(list, o->sentinels, sizeof list);
	for (char *save, *s = strtok_r(list, ",", &save); s; s = strtok_r(NULL, ",", &save))
		if (ask_sentinel(s, o->sentinel_master, o->redis, sizeof o->redis) == 0)
			return;
	fail(EXIT_REDIS, "no sentinel of %s knows master %s", o->sentinels, o->sentinel_master);
}

static redisContext *connect_redis(struct options *o)
{
	redisContext *c;
	choose_address(o);
	redis_address = o->redis;
	c = open_link(o->redis);
	if (c == NULL)
		fail(EXIT_REDIS, "can't reach redis at %s: out of memory", o->redis);
	if (c->err)
		fail(EXIT_REDIS, "can't reach redis at %s: %s", o->redis, c->errstr);
	redisSetTimeout(c, ms_to_timeval(COMMAND_TIMEOUT_MS));
	if (o->password[0] && o->user[0])
		freeReplyObject(run(c, "AUTH %s %s", o->user, o->password));
	else if (o->password[0])
		freeReplyObject(run(c, "AUTH %s", o->password));
	if (o->db)
		freeReplyObject(run(c, "SELECT %d", o->db));
	return c;
}

/* Sends one command per element of keys (format takes prefix and key) in
 * one round trip; returns the replies in order. */
static redisReply **pipeline(redisContext *c, const char *fmt, const char *prefix,
                             char **keys, size_t n)
{
	redisReply **replies = calloc(n ? n : 1, sizeof *replies);
	size_t i;
	for (i = 0; i < n; i++)
		redisAppendCommand(c, fmt, prefix, keys[i]);
	for (i = 0; i < n; i++) {
		void *r;
		if (redisGetReply(c, &r) != REDIS_OK)
			fail(EXIT_REDIS, "redis at %s: %s", redis_address, c->errstr);
		replies[i] = r;
	}
	return replies;
}

static char **members_of(redisContext *c, const char *prefix, const char *set, size_t *n)
{
	redisReply *r = run(c, "SMEMBERS %s:%s", prefix, set);
	char **list = calloc(r->elements ? r->elements : 1, sizeof *list);
	size_t i;
	for (i = 0; i < r->elements; i++)
		list[i] = strdup(r->element[i]->str);
	*n = r->elements;
	freeReplyObject(r);
	return list;
}

static void free_strings(char **list, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(list[i]);
	free(list);
}

/* ---------------------------------------------------------- cluster state */

static long long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int by_node_name(const void *a, const void *b)
{
	return strcmp(((const struct node_row *)a)->name, ((const struct node_row *)b)->name);
}

static int by_name(const void *a, const void *b)
{
	return strcmp(((const struct name_row *)a)->name, ((const struct name_row *)b)->name);
}

/* Live nodes (index entries whose key has expired are skipped), sorted.
 * A node value is "<address or -> <start unix ms>". */
static struct node_row *read_nodes(redisContext *c, const char *prefix, size_t *count)
{
	size_t n, live = 0;
	char **names = members_of(c, prefix, "nodes", &n);
	redisReply **values = pipeline(c, "GET %s:node:%s", prefix, names, n);
	struct node_row *rows = calloc(n ? n : 1, sizeof *rows);
	for (size_t i = 0; i < n; i++) {
		char address[256];
		long long start = 0;
		if (values[i]->type == REDIS_REPLY_STRING &&
		    sscanf(values[i]->str, "%255s %lld", address, &start) >= 1) {
			rows[live].name = strdup(names[i]);
			rows[live].address = strdup(strcmp(address, "-") == 0 ? "" : address);
			rows[live].start_ms = start;
			live++;
		}
		freeReplyObject(values[i]);
	}
	free(values);
	free_strings(names, n);
	qsort(rows, live, sizeof *rows, by_node_name);
	*count = live;
	return rows;
}

static void free_nodes(struct node_row *rows, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(rows[i].name);
		free(rows[i].address);
	}
	free(rows);
}

/* Whether node is among the live nodes (sorted by name). */
static int is_live_node(const struct node_row *nodes, size_t n, const char *node)
{
	struct node_row key = {.name = (char *)node};
	return bsearch(&key, nodes, n, sizeof *nodes, by_node_name) != NULL;
}

/* Live names matching pattern (NULL: all), sorted.  A name value is
 * "<node> <handle in decimal>"; its key has no lease of its own, so a name
 * counts only while its node's membership key lives. */
static struct name_row *read_names(redisContext *c, const char *prefix, const char *pattern,
                                   size_t *count)
{
	size_t n, n_nodes, live = 0;
	struct node_row *nodes = read_nodes(c, prefix, &n_nodes);
	char **names = members_of(c, prefix, "names", &n);
	redisReply **values = pipeline(c, "GET %s:name:%s", prefix, names, n);
	struct name_row *rows = calloc(n ? n : 1, sizeof *rows);
	for (size_t i = 0; i < n; i++) {
		char node[256];
		long long addr = 0;
		if (values[i]->type == REDIS_REPLY_STRING &&
		    sscanf(values[i]->str, "%255s %lld", node, &addr) >= 1 &&
		    is_live_node(nodes, n_nodes, node) &&
		    (pattern == NULL || fnmatch(pattern, names[i], 0) == 0)) {
			rows[live].name = strdup(names[i]);
			rows[live].node = strdup(node);
			rows[live].addr = addr;
			live++;
		}
		freeReplyObject(values[i]);
	}
	free(values);
	free_strings(names, n);
	free_nodes(nodes, n_nodes);
	qsort(rows, live, sizeof *rows, by_name);
	*count = live;
	return rows;
}

static void free_names(struct name_row *rows, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(rows[i].name);
		free(rows[i].node);
	}
	free(rows);
}

static long long integer_of(redisReply *r)
{
	if (r->type == REDIS_REPLY_INTEGER)
		return r->integer;
	if (r->type == REDIS_REPLY_STRING)
		return atoll(r->str);
	return 0;
}

/* The master key ("<node> <epoch>"), its PTTL and the highest epoch. */
static void read_master(redisContext *c, const char *prefix, struct master_info *m)
{
	redisReply *value = run(c, "GET %s:master", prefix);
	redisReply *ttl = run(c, "PTTL %s:master", prefix);
	redisReply *highest = run(c, "GET %s:epoch", prefix);
	memset(m, 0, sizeof *m);
	if (value->type == REDIS_REPLY_STRING &&
	    sscanf(value->str, "%127s %lld", m->node, &m->epoch) == 2)
		m->lease_ms = ttl->integer > 0 ? ttl->integer : 0;
	else
		m->epoch = 0;
	m->highest = integer_of(highest);
	freeReplyObject(value);
	freeReplyObject(ttl);
	freeReplyObject(highest);
}

/* ------------------------------------------------------------- output */

static void json_string(const char *s)
{
	putchar('"');
	for (; *s; s++) {
		unsigned char ch = (unsigned char)*s;
		if (ch == '"' || ch == '\\')
			printf("\\%c", ch);
		else if (ch < 0x20)
			printf("\\u%04x", ch);
		else
			putchar(ch);
	}
	putchar('"');
}

static void format_age(char *buf, size_t size, long long ms)
{
	if (ms < 0)
		ms = 0;
	if (ms < 60000)
		snprintf(buf, size, "%.1f s", ms / 1000.0);
	else if (ms < 3600000)
		snprintf(buf, size, "%lld min", ms / 60000);
	else
		snprintf(buf, size, "%.1f h", ms / 3600000.0);
}

static int width_of_nodes(const struct node_row *rows, size_t n, int column)
{
	int w = column == 0 ? 4 : 7; /* "NODE", "ADDRESS" */
	for (size_t i = 0; i < n; i++) {
		int len = (int)strlen(column == 0 ? rows[i].name : rows[i].address);
		if (len > w)
			w = len;
	}
	return w;
}

static void print_node_json(const struct node_row *r, const struct master_info *m, long long now)
{
	fputs("{\"node\":", stdout);
	json_string(r->name);
	fputs(",\"address\":", stdout);
	json_string(r->address);
	printf(",\"age_ms\":%lld,\"master\":%s}", now - r->start_ms,
	       m->epoch && strcmp(m->node, r->name) == 0 ? "true" : "false");
}

static void print_node_table(const struct node_row *rows, size_t n, const struct master_info *m)
{
	int wn = width_of_nodes(rows, n, 0), wa = width_of_nodes(rows, n, 1);
	long long now = now_ms();
	printf("%-*s  %-*s  %-8s  %s\n", wn, "NODE", wa, "ADDRESS", "AGE", "ROLE");
	for (size_t i = 0; i < n; i++) {
		char age[32];
		format_age(age, sizeof age, now - rows[i].start_ms);
		int is_master = m->epoch && strcmp(m->node, rows[i].name) == 0;
		printf("%-*s  %-*s  %-*s%s\n", wn, rows[i].name, wa,
		       rows[i].address[0] ? rows[i].address : "-", is_master ? 8 : 0, age,
		       is_master ? "  master" : "");
	}
}

/* ----------------------------------------------------------- commands */

static void status_json(const struct options *o, const struct master_info *m,
                        const struct node_row *nodes, size_t n, size_t names)
{
	long long now = now_ms();
	fputs("{\"prefix\":", stdout);
	json_string(o->prefix);
	fputs(",\"master\":", stdout);
	if (m->epoch) {
		json_string(m->node);
		printf(",\"epoch\":%lld,\"lease_left_ms\":%lld", m->epoch, m->lease_ms);
	} else {
		fputs("null,\"epoch\":null,\"lease_left_ms\":null", stdout);
	}
	printf(",\"highest_epoch\":%lld,\"names\":%zu,\"nodes\":[", m->highest, names);
	for (size_t i = 0; i < n; i++) {
		if (i)
			putchar(',');
		print_node_json(&nodes[i], m, now);
	}
	puts("]}");
}

static void status_table(const struct options *o, const struct master_info *m,
                         const struct node_row *nodes, size_t n, size_t names)
{
	printf("cluster  %s on redis %s\n", o->prefix, o->redis);
	if (m->epoch)
		printf("master   %s  epoch %lld  lease left %lld ms\n", m->node, m->epoch,
		       m->lease_ms);
	else
		printf("master   none  (highest epoch issued: %lld)\n", m->highest);
	printf("nodes    %zu\n", n);
	printf("names    %zu\n", names);
	print_node_table(nodes, n, m);
}

static int cmd_status(redisContext *c, const struct options *o)
{
	struct master_info m;
	size_t n, names;
	struct node_row *nodes;
	struct name_row *name_rows;
	read_master(c, o->prefix, &m);
	nodes = read_nodes(c, o->prefix, &n);
	name_rows = read_names(c, o->prefix, NULL, &names);
	free_names(name_rows, names);
	if (o->json)
		status_json(o, &m, nodes, n, names);
	else
		status_table(o, &m, nodes, n, names);
	free_nodes(nodes, n);
	return 0;
}

static int cmd_nodes(redisContext *c, const struct options *o)
{
	struct master_info m;
	size_t n;
	struct node_row *nodes;
	long long now = now_ms();
	read_master(c, o->prefix, &m);
	nodes = read_nodes(c, o->prefix, &n);
	if (o->json) {
		for (size_t i = 0; i < n; i++) {
			print_node_json(&nodes[i], &m, now);
			putchar('\n');
		}
	} else {
		print_node_table(nodes, n, &m);
	}
	free_nodes(nodes, n);
	return 0;
}

static int cmd_names(redisContext *c, const struct options *o)
{
	size_t n;
	struct name_row *rows = read_names(c, o->prefix, o->arg, &n);
	int w = 4;
	for (size_t i = 0; i < n; i++)
		if ((int)strlen(rows[i].name) > w)
			w = (int)strlen(rows[i].name);
	if (!o->json)
		printf("%-*s  %-10s  %s\n", w, "NAME", "ADDRESS", "NODE");
	for (size_t i = 0; i < n; i++) {
		if (o->json) {
			fputs("{\"name\":", stdout);
			json_string(rows[i].name);
			fputs(",\"node\":", stdout);
			json_string(rows[i].node);
			printf(",\"address\":\":%08llx\"}\n", rows[i].addr);
		} else {
			printf("%-*s  :%08llx   %s\n", w, rows[i].name, rows[i].addr, rows[i].node);
		}
	}
	free_names(rows, n);
	return 0;
}

static void sleep_ms(int ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
	nanosleep(&ts, NULL);
}

/* Polls the master key until a master other than old holds it. */
static int wait_for_new_master(redisContext *c, const char *prefix,
                               const struct master_info *old, struct master_info *now)
{
	long long start = now_ms();
	while (now_ms() - start < RESIGN_WAIT_MS) {
		read_master(c, prefix, now);
		if (now->epoch && now->epoch != old->epoch)
			return 1;
		sleep_ms(5);
	}
	return 0;
}

static int cmd_resign(redisContext *c, const struct options *o)
{
	struct master_info old, now;
	char message[160];
	long long start;
	redisReply *r;
	read_master(c, o->prefix, &old);
	if (old.epoch == 0)
		fail(EXIT_USAGE, "cluster %s has no master to resign", o->prefix);
	if (o->arg && strcmp(o->arg, old.node) != 0)
		fail(EXIT_USAGE, "%s is not the master (the master is %s, epoch %lld)", o->arg,
		     old.node, old.epoch);
	snprintf(message, sizeof message, "resign %s", old.node);
	start = now_ms();
	r = run(c, "PUBLISH %s:events %s", o->prefix, message);
	freeReplyObject(r);
	if (!wait_for_new_master(c, o->prefix, &old, &now))
		fail(EXIT_USAGE, "%s (epoch %lld) asked to resign but no other node took over "
		     "within %d s (does %s run a skynode that handles resign? are there other "
		     "candidates?)", old.node, old.epoch, RESIGN_WAIT_MS / 1000, old.node);
	if (o->json) {
		fputs("{\"resigned\":", stdout);
		json_string(old.node);
		printf(",\"old_epoch\":%lld,\"master\":", old.epoch);
		json_string(now.node);
		printf(",\"epoch\":%lld,\"took_ms\":%lld}\n", now.epoch, now_ms() - start);
	} else {
		printf("master %s (epoch %lld) resigned; %s is master now (epoch %lld), "
		       "seen after %lld ms\n", old.node, old.epoch, now.node, now.epoch,
		       now_ms() - start);
	}
	return 0;
}

static void print_event(const struct options *o, const char *payload)
{
	long long t = now_ms();
	const char *rest = strchr(payload, ' ');
	int kind_len = rest ? (int)(rest - payload) : (int)strlen(payload);
	if (o->json) {
		char *copy = strdup(rest ? rest + 1 : "");
		char *save = NULL, *word;
		int first = 1;
		printf("{\"time_ms\":%lld,\"event\":\"%.*s\",\"args\":[", t, kind_len, payload);
		for (word = strtok_r(copy, " ", &save); word; word = strtok_r(NULL, " ", &save)) {
			if (!first)
				putchar(',');
			json_string(word);
			first = 0;
		}
		puts("]}");
		free(copy);
	} else {
		time_t secs = t / 1000;
		struct tm tm;
		char clock[16];
		localtime_r(&secs, &tm);
		strftime(clock, sizeof clock, "%H:%M:%S", &tm);
		printf("%s.%03lld  %-10.*s %s\n", clock, t % 1000, kind_len, payload,
		       rest ? rest + 1 : "");
	}
}

static void stop_watching(int sig)
{
	(void)sig;
	_exit(0);
}

static int cmd_watch(redisContext *c, const struct options *o)
{
	struct timeval forever = {0, 0};
	freeReplyObject(run(c, "SUBSCRIBE %s:events", o->prefix));
	redisSetTimeout(c, forever);
	setvbuf(stdout, NULL, _IOLBF, 0);
	signal(SIGINT, stop_watching);
	signal(SIGTERM, stop_watching);
	if (!o->json)
		fprintf(stderr, "watching %s:events on %s (Ctrl-C stops)\n", o->prefix, o->redis);
	void *reply;
	while (redisGetReply(c, &reply) == REDIS_OK) {
		redisReply *r = reply;
		if (r->type == REDIS_REPLY_ARRAY && r->elements == 3 &&
		    r->element[2]->type == REDIS_REPLY_STRING)
			print_event(o, r->element[2]->str);
		freeReplyObject(r);
	}
	fail(EXIT_REDIS, "lost redis at %s: %s", o->redis, c->errstr);
}

struct command {
	const char *name;
	int (*run)(redisContext *c, const struct options *o);
	int takes_arg;
};

static const struct command commands[] = {
	{"status", cmd_status, 0},
	{"nodes", cmd_nodes, 0},
	{"names", cmd_names, 1},
	{"resign", cmd_resign, 1},
	{"watch", cmd_watch, 0},
};

int main(int argc, char **argv)
{
	struct options o = {0};
	const struct command *cmd = NULL;
	redisContext *c;
	int status;
	parse_args(&o, argc, argv);
	for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
		if (strcmp(commands[i].name, o.command) == 0)
			cmd = &commands[i];
	if (cmd == NULL)
		fail(EXIT_USAGE, "unknown command \"%s\" (see skynode-ctl -h)", o.command);
	if (o.arg && !cmd->takes_arg)
		fail(EXIT_USAGE, "%s takes no argument", o.command);
	c = connect_redis(&o);
	status = cmd->run(c, &o);
	redisFree(c);
	return status;
}
