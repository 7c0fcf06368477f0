#!/usr/bin/env bash
# cluster.sh: run a local cluster of N nodes against a given Redis, each with
# deploy/config/redis-node.conf (nodes node1..nodeN on 127.0.0.1, free ports).
#
#   deploy/cluster.sh start  N REDIS_ADDR   start N nodes, wait until each is up
#   deploy/cluster.sh status N REDIS_ADDR   which nodes run, and skynode-ctl status
#   deploy/cluster.sh stop   N REDIS_ADDR   SIGTERM every node, wait (5 s at most)
#
# REDIS_ADDR is host:port or a unix socket path.  Pid files and logs go to
# $SKYNODE_RUN (default /tmp/skynode-cluster-<user>).  SKYNODE and
# SKYNODE_CTL override the binaries (default: the ones in the checkout).
set -u
root=$(cd "$(dirname "$0")/.." && pwd)
source "$root/deploy/lib.sh"
SKYNODE=${SKYNODE:-$root/skynode}
SKYNODE_CTL=${SKYNODE_CTL:-$root/skynode-ctl}
run_dir=${SKYNODE_RUN:-/tmp/skynode-cluster-$(id -un)}

usage() {
	echo "usage: deploy/cluster.sh start|stop|status N REDIS_ADDR" >&2
	exit 1
}

[ $# -eq 3 ] || usage
action=$1 count=$2 redis=$3
[[ "$count" =~ ^[1-9][0-9]*$ ]] || { echo "cluster.sh: N must be a positive number, not '$count'" >&2; exit 1; }

pid_of() { cat "$run_dir/$1.pid" 2>/dev/null; }
running() { local pid; pid=$(pid_of "$1") && kill -0 "$pid" 2>/dev/null; }

start_node() {
	local name=$1 log=$run_dir/$1.log
	if running "$name"; then
		echo "$name: already running (pid $(pid_of "$name"))"
		return 0
	fi
	: >"$log"
	SKYNODE_HOME=$root SKYNODE_NODE=$name SKYNODE_REDIS=$redis \
		SKYNODE_ADDRESS=127.0.0.1:$(free_port) \
		setsid "$SKYNODE" "$root/deploy/config/redis-node.conf" >"$log" 2>&1 </dev/null &
	echo $! >"$run_dir/$name.pid"
	for _ in $(seq 1 250); do
		grep -q "node $name ready" "$log" && { echo "$name: started (pid $!, log $log)"; return 0; }
		running "$name" || break
		sleep 0.02
	done
	echo "$name: did not start within 5 s; last lines of $log:" >&2
	tail -5 "$log" >&2
	return 1
}

stop_node() {
	local name=$1 pid
	pid=$(pid_of "$name") || { echo "$name: not started here"; return 0; }
	if kill -TERM "$pid" 2>/dev/null; then
		for _ in $(seq 1 500); do
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.01
		done
		if kill -0 "$pid" 2>/dev/null; then
			kill -KILL "$pid" 2>/dev/null
			echo "$name: did not stop within 5 s of SIGTERM, killed (pid $pid)"
		else
			echo "$name: stopped"
		fi
	else
		echo "$name: was not running"
	fi
	rm -f "$run_dir/$name.pid"
}

mkdir -p "$run_dir"
status=0
case $action in
start)
	[ -x "$SKYNODE" ] || { echo "cluster.sh: no $SKYNODE: run make first" >&2; exit 1; }
	for i in $(seq 1 "$count"); do start_node "node$i" || status=1; done
	;;
stop)
	for i in $(seq 1 "$count"); do stop_node "node$i"; done
	;;
status)
	for i in $(seq 1 "$count"); do
		if running "node$i"; then echo "node$i: running (pid $(pid_of "node$i"))"
		else echo "node$i: not running"; status=1; fi
	done
	"$SKYNODE_CTL" --redis "$redis" status || status=$?
	;;
*)
	usage
	;;
esac
exit $status
