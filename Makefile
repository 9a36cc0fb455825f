# credit_sandbox -- PGXS build.  The version lives in credit_sandbox.control only.
EXTENSION  = credit_sandbox

MODULE_big = $(EXTENSION)
OBJS = src/credit_sandbox.o src/settings.o src/spi_util.o src/watched.o src/evidence.o src/catalog.o \
       src/matcher.o src/facts.o src/history.o src/outcome.o src/grading.o src/evaluate.o src/trigger.o \
       src/escalation.o src/replay.o src/key_readback.o src/operator_lock.o src/placement.o src/feed.o

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

# PGXS tracks no header dependencies here: each object, the headers it
# includes, directly or through another header
src/catalog.o: src/catalog.h src/matcher.h src/settings.h src/spi_util.h src/watched.h
src/credit_sandbox.o: src/catalog.h src/facts.h src/history.h src/key_readback.h src/outcome.h src/settings.h src/spi_util.h
src/escalation.o: src/catalog.h src/evidence.h src/facts.h src/history.h src/operator_lock.h src/outcome.h src/settings.h src/spi_util.h
src/evaluate.o: src/catalog.h src/evaluate.h src/evidence.h src/facts.h src/history.h src/matcher.h src/outcome.h src/settings.h src/spi_util.h
src/evidence.o: src/evidence.h
src/facts.o: src/facts.h src/history.h src/settings.h src/spi_util.h src/watched.h
src/grading.o: src/grading.h src/operator_lock.h src/settings.h src/spi_util.h
src/history.o: src/compat.h src/history.h src/settings.h src/spi_util.h src/watched.h
src/key_readback.o: src/catalog.h src/compat.h src/evaluate.h src/key_readback.h src/outcome.h src/spi_util.h
src/matcher.o: src/matcher.h
src/operator_lock.o: src/operator_lock.h
src/outcome.o: src/catalog.h src/grading.h src/outcome.h src/settings.h src/spi_util.h src/watched.h
src/replay.o: src/catalog.h src/evaluate.h src/outcome.h src/spi_util.h
src/settings.o: src/compat.h src/settings.h
src/spi_util.o: src/spi_util.h
src/trigger.o: src/catalog.h src/compat.h src/evaluate.h src/operator_lock.h src/outcome.h
src/watched.o: src/spi_util.h src/watched.h
