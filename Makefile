# Makefile: builds the skynode binary (C runtime, built-in services and
# Lua C modules linked in), and runs the tests, benchmarks and demo.
#
#   make                 build ./skynode
#   make test            install missing packages, build, run every test
#   make bench           run the benchmarks
#   make demo            the three-node fail-over demo
#   make fuzz            libFuzzer targets, FUZZ_SECONDS each (default 300)
#   make deps            install missing Debian packages
#   make SANITIZE=address,undefined test    (or SANITIZE=thread)

DEB_PACKAGES := liblua5.4-dev libhiredis-dev libevent-dev libcmocka-dev \
	redis-server redis-sentinel pkg-config build-essential python3
FUZZ_PACKAGES := clang libclang-rt-14-dev
PKGS := lua5.4 hiredis libevent libevent_pthreads

CC ?= gcc
SANITIZE ?=
FUZZ_SECONDS ?= 300
comma := ,
VARIANT := $(if $(SANITIZE),$(subst $(comma),-,$(SANITIZE)),release)
BUILD := build/$(VARIANT)

CFLAGS := -std=gnu11 -D_GNU_SOURCE -g -Wall -Wextra -pthread -Inode -Icoord \
	$(shell pkg-config --cflags $(PKGS) 2>/dev/null)
LUA_LIB := $(shell pkg-config --variable=libdir lua5.4 2>/dev/null)/liblua5.4.a
LDLIBS := -Wl,--whole-archive $(LUA_LIB) -Wl,--no-whole-archive \
	$(shell pkg-config --libs hiredis libevent libevent_pthreads 2>/dev/null) -ldl -lm -pthread
ifeq ($(SANITIZE),)
CFLAGS += -O2
else
CFLAGS += -O1 -fno-omit-frame-pointer -fsanitize=$(SANITIZE)
LDFLAGS += -fsanitize=$(SANITIZE)
endif

NODE_SRCS := \
	node/malloc.c node/env.c node/config.c node/handle.c node/mq.c node/scheduler.c \
	node/server.c node/command.c node/timer.c node/housekeeper.c \
	node/shutdown.c node/monitor.c node/module.c node/builtin.c \
	node/log.c node/start.c node/service_logger.c node/service_snlua.c \
	node/lua_skynet.c node/lua_seri.c node/lua_cluster.c node/lua_netpack.c \
	node/socket_server.c node/skynet_socket.c node/lua_socket.c node/lua_memory.c \
	node/harbor.c node/service_harbor.c node/codecache.c
COORD_SRCS := coord/redis_driver.c coord/redis_wire.c coord/service_redis.c \
	coord/lua_redis.c coord/coord_modules.c
LIB_OBJS := $(patsubst %.c,$(BUILD)/%.o,$(NODE_SRCS) $(COORD_SRCS)) \
	$(BUILD)/generated/lua_embedded.o
# Lua files compiled into the binary (node/luaembed.c, node/codecache.c)
LUA_EMBEDDED := $(sort $(wildcard lualib/*.lua lualib/skynet/*.lua service/*.lua coord/*.lua))

UNIT_TESTS := $(patsubst tests/unit/%.c,$(BUILD)/tests/%,\
	$(wildcard tests/unit/test_*.c))
UNIT_HELPERS := $(patsubst %.c,$(BUILD)/%.o,\
	$(filter-out $(wildcard tests/unit/test_*.c),$(wildcard tests/unit/*.c)))

.PHONY: all deps test test-run bench demo clean fuzz
.SECONDARY:

all: $(BUILD)/skynode $(BUILD)/skynode-ctl
ifeq ($(SANITIZE),)
	@cp --remove-destination $(BUILD)/skynode skynode
	@cp --remove-destination $(BUILD)/skynode-ctl skynode-ctl
endif

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -MMD -MP -c $< -o $@

$(BUILD)/luaembed: node/luaembed.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(LDFLAGS) $< $(LDLIBS) -o $@

$(BUILD)/generated/lua_embedded.c: $(BUILD)/luaembed $(LUA_EMBEDDED)
	@mkdir -p $(dir $@)
	$(BUILD)/luaembed $@ $(LUA_EMBEDDED)

$(BUILD)/generated/lua_embedded.o: $(BUILD)/generated/lua_embedded.c
	$(CC) $(CFLAGS) -c $< -o $@

$(BUILD)/libskynode.a: $(LIB_OBJS)
	@rm -f $@
	ar rcs $@ $^

$(BUILD)/skynode: $(BUILD)/node/main.o $(BUILD)/libskynode.a
	$(CC) $(LDFLAGS) -rdynamic $^ $(LDLIBS) -o $@

$(BUILD)/skynode-ctl: $(BUILD)/coord/skynode_ctl.o $(BUILD)/node/config.o
	$(CC) $(LDFLAGS) $^ $(LDLIBS) -o $@

$(BUILD)/tests/%: $(BUILD)/tests/unit/%.o $(UNIT_HELPERS) $(BUILD)/libskynode.a
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) $^ $(LDLIBS) -lcmocka -o $@

# install_missing PACKAGES: apt-get the ones dpkg does not know (sudo when not root)
define install_missing
	@missing=$$(for p in $(1); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	if [ -n "$$missing" ]; then \
		echo "installing:" $$missing; \
		sudo=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
		$$sudo apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $$sudo apt-get install -y -qq $$missing \
			>/dev/null || { echo "make: apt-get install failed" >&2; exit 1; }; \
	fi
endef

deps:
	$(call install_missing,$(DEB_PACKAGES))

test: deps
	@$(MAKE) --no-print-directory test-run

test-run: all $(UNIT_TESTS)
	@BUILD=$(BUILD) SKYNODE=$(BUILD)/skynode SANITIZE=$(SANITIZE) \
		tests/run.sh

bench: deps
	@$(MAKE) --no-print-directory all
	@SKYNODE=$(BUILD)/skynode tests/bench/run.sh

demo: deps
	@$(MAKE) --no-print-directory all
	@deploy/demo.sh

fuzz: deps
	$(call install_missing,$(FUZZ_PACKAGES))
	tests/fuzz/run.sh $(FUZZ_SECONDS)

clean:
	rm -rf build skynode skynode-ctl

-include $(LIB_OBJS:.o=.d) $(BUILD)/node/main.d $(BUILD)/coord/skynode_ctl.d
