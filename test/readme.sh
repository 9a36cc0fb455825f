#!/usr/bin/env bash
# readme.sh -- runs the examples of README.md on a throwaway cluster and checks the
# outputs it shows, so that the README cannot drift from what the extension does.
#
#   sudo bash test/readme.sh          # test/check.sh runs it as one of its tests
#
# The README's code blocks, in the order they appear:
#   ```ini   lines of postgresql.conf: the cluster starts with all of them (after the
#            test's own lines, so the README's preload list and pg_cron settings rule);
#   ```sql   run by psql (-q, aligned, no row-count footer, PGTZ=UTC) as the role and in
#            the database named on the block's first line by a comment `-- as ROLE`,
#            `-- in DATABASE` or `-- as ROLE in DATABASE` (defaults: postgres, the DBA, and
#            prod); the test creates each database, and makes every such role but
#            postgres a LOGIN role, before the first block;
#   ```sh    run by bash -e from the repository root, as root, with PGHOST, PGPORT and
#            PGUSER=postgres of the cluster (PATH: the tested major's binaries first),
#            unless the line before it is `<!-- not run: REASON -->` (package installs,
#            builds, servers of their own: the suite and CI run those);
#   ```text  right after a sql or sh block: what that block prints (stdout and stderr),
#            compared line by line with trailing blanks ignored. A block passes if it
#            prints that and exits 0, or prints that and the shown text has an ERROR
#            (an example of a refusal). Without a text block it must exit 0.
# Blocks of other languages are not run. One line per block run, "ok" or "not ok" with
# its README line (and the difference); exits non-zero if any block failed.
#
# pg_cron comes from Debian's postgresql-NN-cron (installed with the other dependencies);
# for a relocated copy (CS_PGBIN) copy its pg_cron.so and pg_cron* extension files in.
# Environment: as test/cluster.sh; CS_README_BUILD=0 skips the build and install (test/check.sh
# has just done them).
set -euo pipefail
# shellcheck source=test/cluster.sh
source "$(dirname "${BASH_SOURCE[0]}")/cluster.sh"
cs_require_root "$@"
cd "$CS_REPO"

readme=$CS_REPO/README.md
if [ "${CS_README_BUILD:-1}" != 0 ]; then
    cs_install_deps
    cs_build_install
fi
[ -f "$("$CS_PG_CONFIG" --sharedir)/extension/pg_cron.control" ] \
    || cs_die "pg_cron is not installed for $CS_PGBIN (postgresql-$CS_PG_MAJOR-cron)"

work=$(mktemp -d -t cs_readme.XXXXXX)
trap 'rm -rf "$work"' EXIT
# files the sh blocks leave in the repository (a dump, say) are removed at exit
top_before=$(ls -A)
cleanup() {
    cs_stop_cluster
    local f
    while IFS= read -r f; do
        [ -f "$f" ] && ! grep -qxF -- "$f" <<<"$top_before" && rm -f -- "$f"
    done < <(ls -A)
    rm -rf "$work"
}

# One file per block (NNN.lang) and a manifest: number, language, README line of the
# opening fence, 1 if marked not run, role.
awk -v dir="$work" '
    /^```/ && !inblock {
        lang = substr($0, 4); sub(/[ \t]+$/, "", lang)
        n++; file = sprintf("%s/%03d.%s", dir, n, lang == "" ? "plain" : lang)
        start = NR; inblock = 1; first = 1; role = "postgres"; db = "prod"
        printf "" > file
        next
    }
    /^```[ \t]*$/ && inblock {
        close(file); inblock = 0
        printf "%03d %s %d %d %s %s\n", n, lang == "" ? "plain" : lang, start, notrun, role, db >> (dir "/manifest")
        notrun = 0
        next
    }
    inblock {
        if (first && lang == "sql") {
            if (match($0, /^-- as [A-Za-z_][A-Za-z0-9_]*/))
                role = substr($0, 7, RLENGTH - 6)
            if (match($0, /^-- (as [A-Za-z_][A-Za-z0-9_]* )?in [A-Za-z_][A-Za-z0-9_]*/)) {
                db = substr($0, RSTART, RLENGTH)
                sub(/.* in /, "", db)
            }
        }
        first = 0
        print >> file
        next
    }
    /^<!-- not run:/ { notrun = 1; next }
    /^[ \t]*$/ { next }
    { notrun = 0 }
' "$readme"
[ -s "$work/manifest" ] || cs_die "no code blocks found in $readme"

conf=$(cat "$work"/*.ini 2>/dev/null || true)
export CS_SERVER_CONF="${CS_SERVER_CONF:-}
$conf"
cs_start_cluster
trap cleanup EXIT
for d in $({ echo prod; awk '$2 == "sql" { print $6 }' "$work/manifest"; } | sort -u); do
    cs_psql -q -c "CREATE DATABASE $d"
done
# the README's times are a UTC session's
export PGTZ=UTC
roles=$(awk '$2 == "sql" && $5 != "postgres" { print $5 }' "$work/manifest" | sort -u)
for r in $roles; do
    cs_psql -q -c "CREATE ROLE $r LOGIN"
done

# trailing blanks and trailing empty lines are not part of an output
normalize() { sed -e 's/[[:space:]]*$//' "$1" | sed -e :a -e '/^\n*$/{$d;N;ba' -e '}'; }

passed=0 failed=0 skipped=0
mapfile -t blocks <"$work/manifest"
for i in "${!blocks[@]}"; do
    read -r n lang line notrun role db <<<"${blocks[$i]}"
    case $lang in sql|sh) ;; *) continue ;; esac
    if [ "$notrun" = 1 ]; then
        echo "skip README.md:$line $lang (not run)"
        skipped=$((skipped + 1))
        continue
    fi
    shown=
    if [ $((i + 1)) -lt ${#blocks[@]} ]; then
        read -r n2 lang2 _ <<<"${blocks[$((i + 1))]}"
        [ "$lang2" = text ] && shown=$work/$n2.text
    fi
    out=$work/$n.out rc=0
    if [ "$lang" = sql ]; then
        "$CS_PGBIN/psql" -X -q -P footer=off -v ON_ERROR_STOP=1 -U "$role" -d "$db" \
            <"$work/$n.sql" >"$out" 2>&1 || rc=$?
        what="sql as $role in $db"
    else
        (unset PGDATABASE; bash -e -o pipefail "$work/$n.sh") >"$out" 2>&1 </dev/null || rc=$?
        what="sh"
    fi
    ok=1
    if [ -n "$shown" ]; then
        if ! diff -u --label "README.md (shown after line $line)" --label "printed" \
                <(normalize "$shown") <(normalize "$out") >"$work/$n.diff"; then
            ok=0
        elif [ "$rc" -ne 0 ] && ! grep -q '^ERROR:' "$shown"; then
            ok=0
        fi
    elif [ "$rc" -ne 0 ]; then
        ok=0
    fi
    if [ "$ok" = 1 ]; then
        echo "ok README.md:$line $what"
        passed=$((passed + 1))
    else
        echo "not ok README.md:$line $what (exit status $rc)"
        if [ -s "$work/$n.diff" ]; then sed 's/^/    /' "$work/$n.diff"; else sed 's/^/    /' "$out"; fi
        failed=$((failed + 1))
    fi
done
echo "README.md: $passed blocks passed, $failed failed, $skipped not run"
[ "$failed" -eq 0 ]
