#!/usr/bin/env bash
# run.sh -- build and run the fuzz targets (see test/fuzz/README.md):
#
#   sudo bash test/fuzz/run.sh [seconds per target, default 60] [matcher|validation]
#
#   matcher     src/matcher.c, stand-alone, with AddressSanitizer and UBSan,
#               against a naive substring search;
#   validation  the extension built for fuzzing (coverage instrumentation) and
#               loaded into `postgres --single` of a private copy of PostgreSQL,
#               where libFuzzer feeds rule parameters, grading weights and
#               boundaries, and titles to fold through the real code.
#
# Each target first replays its regression inputs (test/fuzz/regress/TARGET/,
# inputs that once found a bug), then fuzzes from its seeds (corpus/TARGET/) with
# its dictionary (TARGET.dict).  New corpus entries stay in a temporary directory;
# an input that fails is copied to test/fuzz/crashes/ (not committed) and makes
# the script exit 1.  CS_PGBIN picks the PostgreSQL 15 to copy (as for check.sh).
set -euo pipefail
# shellcheck source=test/cluster.sh
source "$(dirname "${BASH_SOURCE[0]}")/../cluster.sh"
cs_require_root "$@"
seconds=${1:-60}
targets=("${@:2}")
[ ${#targets[@]} -gt 0 ] || targets=(matcher validation)
FUZZ=$CS_REPO/test/fuzz

cs_install_deps
for p in clang-14 libclang-rt-14-dev; do
    if [[ "$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null)" != *" installed" ]]; then
        echo "== installing $p"
        DEBIAN_FRONTEND=noninteractive apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$p" >/dev/null
    fi
done
CC=clang-14
RT=$(dirname "$($CC -print-file-name=libclang_rt.fuzzer_no_main-x86_64.a)")
PGINC=$("$CS_PG_CONFIG" --includedir-server)

WORK=$(mktemp -d -t cs_fuzz.XXXXXX)
chmod 755 "$WORK"
trap '[ "${CS_KEEP_FUZZ_DIR:-0}" = 1 ] || rm -rf "$WORK"' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM HUP
failed=0

# Copies the inputs libFuzzer wrote for a failure ($1: directory) to crashes/.
keep_crashes() {
    local f found=0
    for f in "$1"/crash-* "$1"/leak-* "$1"/timeout-* "$1"/oom-*; do
        [ -e "$f" ] || continue
        mkdir -p "$FUZZ/crashes"
        cp "$f" "$FUZZ/crashes/"
        echo "== kept $FUZZ/crashes/$(basename "$f")"
        found=1
    done
    return $found
}

fuzz_matcher() {
    local dir=$WORK/matcher
    mkdir -p "$dir/corpus"
    echo "== matcher: build"
    $CC -g -O1 -Wall -Wextra -Werror -Wno-unused-parameter -Wno-ignored-attributes \
        -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
        -I"$PGINC" -I"$CS_REPO/src" -I"$FUZZ" \
        "$FUZZ/matcher_fuzz.c" "$FUZZ/pg_shim.c" "$CS_REPO/src/matcher.c" \
        -L"$("$CS_PG_CONFIG" --pkglibdir)" -lpgport -o "$dir/matcher_fuzz"
    cd "$dir"
    echo "== matcher: regression inputs"
    ./matcher_fuzz -artifact_prefix="$dir/" "$FUZZ"/regress/matcher/* >"$dir/regress.log" 2>&1 \
        || { cat "$dir/regress.log"; failed=1; }
    echo "== matcher: fuzzing for $seconds s"
    nice -n 19 ./matcher_fuzz -max_total_time="$seconds" -print_final_stats=1 \
        -dict="$FUZZ/matcher.dict" -artifact_prefix="$dir/" "$dir/corpus" "$FUZZ/corpus/matcher" \
        2>&1 | tee "$dir/log" | grep -E '^(#[0-9]+ +(INITED|DONE)|stat::|Done|==[0-9]+==ERROR|SUMMARY)' || true
    keep_crashes "$dir" || failed=1
    cd "$CS_REPO"
}

# A private copy of the PostgreSQL installation (bin, lib, share: relocatable),
# so that the fuzz build of the library is installed nowhere else.
private_postgres() {
    local bin share prefix
    bin=$("$CS_PG_CONFIG" --bindir)
    share=$("$CS_PG_CONFIG" --sharedir)
    prefix=${bin%/lib/postgresql/*}
    [ "$prefix" != "$bin" ] && [ "${share#"$prefix"}" != "$share" ] \
        || cs_die "cannot copy PostgreSQL from $bin and $share (expected PREFIX/lib/postgresql/15 and PREFIX/share/...)"
    mkdir -p "$WORK/pg$prefix/lib/postgresql" "$(dirname "$WORK/pg$share")"
    cp -a "$(dirname "$bin")" "$WORK/pg$prefix/lib/postgresql/"
    cp -a "$share" "$WORK/pg$share"
    PRIV_BIN=$WORK/pg$bin
    PRIV_LIB=$WORK/pg$("$CS_PG_CONFIG" --pkglibdir)
    PRIV_EXT=$WORK/pg$share/extension
}

# postgres --single in directory $1 (data in $1/data); SQL on stdin, one
# statement a line.
single() {
    (cd "$1" && nice -n 19 runuser -u postgres -- "$PRIV_BIN/postgres" --single -D "$1/data" \
        -c jit=off postgres)
}

# libFuzzer with arguments $2...: it exits the process when done.  Postgres
# keeps SIGUSR1 and SIGUSR2.
driver() {
    local a args="'-handle_usr1=0', '-handle_usr2=0'"
    for a in "${@:2}"; do args+=", '$a'"; done
    echo "SELECT credit_sandbox_fuzz_validation(ARRAY[$args]::text[])" | single "$1"
}

fuzz_validation() {
    local dir=$WORK/validation obj objs=()
    mkdir -p "$dir/obj" "$dir/corpus"
    echo "== validation: build (the extension with coverage instrumentation, plus the driver)"
    for src in "$CS_REPO"/src/*.c "$FUZZ/validation_fuzz.c"; do
        obj=$dir/obj/$(basename "${src%.c}").o
        # shellcheck disable=SC2046
        $CC -g -O1 -fPIC -fno-omit-frame-pointer -fwrapv -fno-strict-aliasing \
            -Wall -Werror -Wno-ignored-attributes -Wno-unused-command-line-argument \
            $("$CS_PG_CONFIG" --cppflags) -I"$PGINC" -I"$CS_REPO/src" \
            -fsanitize=fuzzer-no-link -c "$src" -o "$obj"
        objs+=("$obj")
    done
    $CC -shared -o "$dir/credit_sandbox.so" "${objs[@]}" \
        -Wl,--whole-archive "$RT/libclang_rt.fuzzer_no_main-x86_64.a" -Wl,--no-whole-archive -lstdc++
    private_postgres
    cp "$dir/credit_sandbox.so" "$PRIV_LIB/"
    cp "$CS_REPO/credit_sandbox.control" "$CS_REPO"/sql/credit_sandbox--*.sql "$PRIV_EXT/"

    # the server runs as postgres and reads nothing of the repository
    cp -r "$FUZZ/corpus/validation" "$dir/seeds"
    cp -r "$FUZZ/regress/validation" "$dir/regress"
    cp "$FUZZ/validation.dict" "$dir/"
    chown -R postgres: "$dir"
    runuser -u postgres -- "$PRIV_BIN/initdb" -D "$dir/data" -U postgres --auth=trust -E UTF8 \
        --locale=C.UTF-8 >"$dir/initdb.log" 2>&1 || { cat "$dir/initdb.log"; return 1; }
    echo "== validation: fixture"
    single "$dir" <"$FUZZ/validation_fixture.sql" >"$dir/fixture.log" 2>&1
    if grep -qE '(ERROR|FATAL):' "$dir/fixture.log"; then cat "$dir/fixture.log"; return 1; fi
    echo "== validation: regression inputs"
    driver "$dir" -artifact_prefix="$dir/" "$dir"/regress/* \
        >"$dir/regress.log" 2>&1 || { cat "$dir/regress.log"; failed=1; }
    echo "== validation: fuzzing for $seconds s"
    driver "$dir" -max_total_time="$seconds" -print_final_stats=1 -timeout=30 \
        -dict="$dir/validation.dict" -artifact_prefix="$dir/" "$dir/corpus" "$dir/seeds" \
        2>&1 | tee "$dir/log" \
        | grep -E '^(#[0-9]+ +(INITED|DONE)|stat::|Done|validation fuzz|==[0-9]+==ERROR|SUMMARY)' || true
    keep_crashes "$dir" || failed=1
}

for t in "${targets[@]}"; do
    case $t in
        matcher) fuzz_matcher ;;
        validation) fuzz_validation ;;
        *) cs_die "unknown target $t (matcher or validation)" ;;
    esac
done
if [ "$failed" -ne 0 ]; then echo "== fuzzing found failures"; exit 1; fi
echo "== fuzzing found nothing"
