#!/usr/bin/env bash
# test_harbor_coord_api.sh: runs the coordinator's API test service
# (tests/lua/test_coord_api.lua) on one node in harbor mode with the harbor
# backend: harbor 1, standalone master, coordinator = "harbor".  Its
# "ok - ..." lines are passed through; the run is bounded by 60 s.
set -u
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
SKYNODE=${SKYNODE:-$ROOT/skynode}
DIR=$(mktemp -d /tmp/skynode-harbor-coord.XXXXXX)
trap 'rm -rf "$DIR"' EXIT

source "$ROOT/deploy/lib.sh"   # free_port

MASTER=127.0.0.1:$(free_port)
cat >"$DIR/node.conf" <<CONF
root = "$ROOT/"
thread = 2
harbor = 1
standalone = "$MASTER"
master = "$MASTER"
address = "127.0.0.1:$(free_port)"
coordinator = "harbor"
nodename = "solo"
start = "test_coord_api"
bootstrap = "snlua bootstrap"
luaservice = root.."service/?.lua;"..root.."tests/lua/?.lua;"..root.."coord/?.lua"
lua_path = root.."lualib/?.lua;"..root.."lualib/?/init.lua;"..root.."tests/lua/?.lua;"..root.."coord/?.lua"
CONF

timeout 60 "$SKYNODE" "$DIR/node.conf" >"$DIR/node.log" 2>&1
status=$?
grep -E '^(not )?ok - ' "$DIR/node.log"
if ! grep -q '^# done' "$DIR/node.log" || [ $status -ne 0 ]; then
	echo "not ok - test_coord_api finishes on the harbor backend: exit status $status"
	tail -30 "$DIR/node.log"
	exit 1
fi
if grep -qE 'ERROR: (Address|Leak)Sanitizer|runtime error:|WARNING: ThreadSanitizer' "$DIR/node.log"; then
	echo "not ok - no sanitizer report"
	grep -A20 -E 'Sanitizer|runtime error' "$DIR/node.log" | head -60
	exit 1
fi
! grep -q '^not ok - ' "$DIR/node.log"
