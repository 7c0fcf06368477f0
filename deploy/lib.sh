# deploy/lib.sh: shell helpers shared by the deploy scripts (cluster.sh,
# demo.sh) and the shell tests.  Source it from bash.
#
#   free_port                 prints a TCP port on 127.0.0.1 that nothing listens on
#   wait_for FILE PATTERN MS  0 once FILE has a line matching PATTERN (grep -E)

# Ports are drawn from 20000-32767, below Linux's ephemeral range, so an
# outgoing connection cannot be holding the one we hand out.  A port is free
# when connecting to it is refused (bash's /dev/tcp).
free_port() {
	local port try
	for try in $(seq 1 200); do
		port=$((20000 + RANDOM % 12768))
		if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
			echo "$port"
			return 0
		fi
	done
	echo "free_port: no free port found on 127.0.0.1 after 200 tries" >&2
	return 1
}

wait_for() {
	local i
	for i in $(seq 1 $(($3 / 20 + 1))); do
		grep -qE "$2" "$1" 2>/dev/null && return 0
		sleep 0.02
	done
	return 1
}
