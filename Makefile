# credit_sandbox -- PGXS build.  The version lives in credit_sandbox.control only.
EXTENSION  = credit_sandbox

MODULE_big = $(EXTENSION)
OBJS = src/credit_sandbox.o src/catalog.o src/matcher.o src/evaluate.o \
       src/facts.o src/history.o src/outcome.o src/trigger.o src/grading.o src/escalation.o \
       src/replay.o src/watched.o src/key_readback.o src/operator_lock.o

EXTVERSION = $(shell sed -n "s/^default_version = '\(.*\)'$$/\1/p" $(EXTENSION).control)

# The whole install script of the current version (each object defined once,
# in its final form), every update script, and the 0.1 script as released:
# sql/upgrade.sql installs 0.1, updates it through every release and checks
# that the objects are those of a new install.  Released scripts are never
# edited.
DATA = sql/$(EXTENSION)--0.1.sql sql/$(EXTENSION)--$(EXTVERSION).sql $(wildcard sql/$(EXTENSION)--*--*.sql)

# setup creates the extension and the fixtures every other test uses
REGRESS = setup rules bad_input gucs evidence copy gucs_first_set validation_0_2 upgrade upgrade_grants

PG_CPPFLAGS = -Wall -Wextra -Werror \
              -Wno-unused-parameter -Wno-missing-field-initializers

PG_CONFIG ?= pg_config
PGXS := $(shell $(PG_CONFIG) --pgxs)
include $(PGXS)

# PGXS tracks no header dependencies here: every object sees the shared header
$(OBJS): src/credit_sandbox.h src/watched.h
src/credit_sandbox.o src/history.o src/trigger.o src/key_readback.o: src/compat.h
src/catalog.o src/evaluate.o src/matcher.o: src/matcher.h
src/credit_sandbox.o: src/facts.h src/key_readback.h
src/key_readback.o: src/key_readback.h
src/operator_lock.o src/trigger.o src/escalation.o src/grading.o: src/operator_lock.h
src/evaluate.o src/facts.o src/history.o: src/facts.h
