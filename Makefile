# nmdi — build, test and demo.
#   make          build the library and the nmdi command (build/rel)
#   make test     install what is missing, build, run every test (incl. ASan+UBSan)
#   make demo     install what is missing, build, run the demo pipeline and serve it
#   make bench    benchmarks against peers (not part of make test)
#   make fuzz     longer fuzzing runs of the readers and parsers
# Sources are found by convention: src/<module>/*.c form libnmdi,
# src/cli/cmd_<name>.c are the subcommands, tests/unit/test_<module>.c are the
# unit tests (cmocka), tests/{cli,pipeline,conformance,web}/*.sh are the others.

CC ?= cc
PKGS := sqlite3 jansson libsodium yaml-0.1 gsl libxml-2.0 libmicrohttpd libpq
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS := $(shell pkg-config --libs $(PKGS) 2>/dev/null) -lreadstat -lpthread -lm
WARN := -Wall -Wextra -Werror -Wshadow -Wno-unused-parameter -Wstrict-prototypes
BASE_CFLAGS := -std=c17 -D_GNU_SOURCE -Iinclude -Ibuild/gen $(PKG_CFLAGS) $(WARN) -MMD -MP
REL_CFLAGS := $(BASE_CFLAGS) -O2 -g
ASAN_CFLAGS := $(BASE_CFLAGS) -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined \
               -fno-sanitize-recover=undefined
ASAN_LDFLAGS := -fsanitize=address,undefined

MODULES := $(filter-out cli,$(notdir $(wildcard src/*)))
LIB_SRC := $(foreach m,$(MODULES),$(wildcard src/$(m)/*.c))
CLI_SRC := $(wildcard src/cli/*.c)
CMDS := $(sort $(patsubst src/cli/cmd_%.c,%,$(wildcard src/cli/cmd_*.c)))
TEST_SRC := $(wildcard tests/unit/test_*.c)
TEST_NAMES := $(patsubst tests/unit/%.c,%,$(TEST_SRC))

.PHONY: all deps test-deps test unit demo bench fuzz clean web docs-check
all: build/rel/nmdi

# regenerated on every run (a removed command must disappear too); replaced
# only when its content changes, so nothing is rebuilt needlessly
build/gen/commands.inc: FORCE
	@mkdir -p build/gen
	@for c in $(CMDS); do echo "NMDI_CMD($$c)"; done > $@.tmp
	@cmp -s $@.tmp $@ || mv $@.tmp $@; rm -f $@.tmp

# $(1) = variant (rel|asan), $(2) = CFLAGS, $(3) = LDFLAGS
define VARIANT
build/$(1)/obj/%.o: %.c build/gen/commands.inc
	@mkdir -p $$(dir $$@)
	$$(CC) $(2) -c $$< -o $$@
build/$(1)/libnmdi.a: $$(patsubst %.c,build/$(1)/obj/%.o,$$(LIB_SRC))
	@rm -f $$@
	ar rcs $$@ $$^
build/$(1)/nmdi: $$(patsubst %.c,build/$(1)/obj/%.o,$$(CLI_SRC)) build/$(1)/libnmdi.a
	$$(CC) $(3) -o $$@ $$(filter %.o,$$^) build/$(1)/libnmdi.a $$(PKG_LIBS)
build/$(1)/tests/%: build/$(1)/obj/tests/unit/%.o build/$(1)/libnmdi.a
	@mkdir -p $$(dir $$@)
	$$(CC) $(3) -o $$@ $$< build/$(1)/libnmdi.a $$(PKG_LIBS) -lcmocka
-include $$(patsubst %.c,build/$(1)/obj/%.d,$$(LIB_SRC) $$(CLI_SRC) $$(TEST_SRC))
endef
$(eval $(call VARIANT,rel,$(REL_CFLAGS),))
$(eval $(call VARIANT,asan,$(ASAN_CFLAGS),$(ASAN_LDFLAGS)))

.SECONDARY:
.PHONY: FORCE
FORCE:

deps:
	@scripts/install-deps.sh build

test-deps:
	@scripts/install-deps.sh test

unit: build/rel/nmdi build/asan/nmdi $(addprefix build/rel/tests/,$(TEST_NAMES)) \
      $(addprefix build/asan/tests/,$(TEST_NAMES))

web:
	@if [ -f web/package.json ]; then scripts/build-web.sh; fi

# The test command of the README and of .ci/run.
test: test-deps
	@$(MAKE) --no-print-directory unit web
	@tests/run.sh

# the demo infrastructure is rebuilt on every run (DEMO_ARGS="--persons N ..." to change it)
DEMO_ARGS ?=
demo: deps
	@$(MAKE) --no-print-directory build/rel/nmdi web
	build/rel/nmdi demo --force $(DEMO_ARGS)

bench: deps
	@$(MAKE) --no-print-directory build/rel/nmdi
	@bench/run.sh

fuzz:
	@tests/fuzz/run.sh $(FUZZ_SECONDS)

clean:
	rm -rf build
