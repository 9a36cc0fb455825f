#!/usr/bin/env bash
# majors.sh -- the whole test suite (test/check.sh) on each supported PostgreSQL
# major, one after the other (CI runs this):
#
#   15     on this machine (Debian 12), as test/check.sh alone;
#   17     in a Debian 13 (trixie) root, 18 in a Debian sid root: each made with
#          debootstrap from the Debian mirror this machine's apt uses, with
#          postgresql-NN, its server headers and pgTAP installed inside, and the
#          suite run there by chroot (its servers as the root's postgres user);
#   15-17  pg_upgrade from 15 to 17 with the extension installed in both
#          (test/upgrade_major.sh), in the trixie root with Debian 12's
#          postgresql-15 installed beside 17.
#
#   sudo bash test/majors.sh                         # 15 17 18 15-17
#   CS_PG_MAJORS=18 sudo -E bash test/majors.sh      # one major alone
#
# Environment: CS_PG_MAJORS (default "15 17 18 15-17"); CS_PGBIN and CS_PGPORT for the 15
# leg, as for check.sh; CS_PGPORT_17 and CS_PGPORT_18, the ports of the roots'
# clusters (default 54350 and 54352; the crash test and the upgrade's old cluster
# take the next one);
# CS_DEBIAN_MIRROR to override the mirror; CS_ROOTS_DIR, a directory where the
# roots are kept and reused between runs (default: made in a temporary directory
# and removed at exit). The fuzz smoke run needs Debian 12's clang-14 and a copy of
# the host's PostgreSQL: it runs in the 15 leg only (CS_FUZZ=0 in the roots).
# CS_MAJORS_SCRIPT runs another script of the checkout instead of test/check.sh, with
# the words of CS_MAJORS_ARGS as arguments (test/bench/agreement.sh: the shared
# benchmark on every major; the folder CS_BENCH_SHARED names is copied into the roots
# and named there the same way).
# Ends with "N passed, M failed" over all majors and exits non-zero if M > 0 or a
# root could not be made. Whatever happens, /proc is unmounted from the roots and
# any process left running in one is stopped before the roots are removed.
set -euo pipefail
# shellcheck source=test/cluster.sh
source "$(dirname "${BASH_SOURCE[0]}")/cluster.sh"
cs_require_root "$@"
cd "$CS_REPO"

majors=${CS_PG_MAJORS:-15 17 18 15-17}
script=${CS_MAJORS_SCRIPT:-test/check.sh}
read -r -a script_args <<<"${CS_MAJORS_ARGS:-}"
declare -A suite=([17]=trixie [18]=sid)
declare -A port=([17]=${CS_PGPORT_17:-54350} [18]=${CS_PGPORT_18:-54352})
keep_roots=0
if [ -n "${CS_ROOTS_DIR:-}" ]; then
    roots=$CS_ROOTS_DIR keep_roots=1
    mkdir -p "$roots"
else
    roots=$(mktemp -d -t cs_roots.XXXXXX)
fi
passed=0 failed=0
declare -A leg_result leg_seconds

# Stops what still runs inside a root (a suite killed half-way leaves its
# server), then unmounts /proc: nothing of the host may stay mounted there.
release_root() {
    local root=$1 p
    for p in /proc/[0-9]*; do
        if [ "$(readlink "$p/root" 2>/dev/null)" = "$root" ]; then
            kill -KILL "${p#/proc/}" 2>/dev/null || true
        fi
    done
    if mountpoint -q "$root/proc"; then
        umount "$root/proc" 2>/dev/null || umount -l "$root/proc"
    fi
}

cleanup() {
    local root
    for root in "$roots"/*/; do
        root=${root%/}
        if [ -d "$root/proc" ]; then release_root "$root"; fi
    done
    if [ "$keep_roots" = 1 ]; then return 0; fi
    # never remove a tree that still has something mounted in it
    if findmnt -rn -o TARGET | grep -q "^$roots/"; then
        echo "warning: $roots still has mounts; left in place" >&2
    else
        rm -rf "$roots"
    fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM HUP

# The Debian mirror of this machine's apt sources: the URI of the entry for its
# own release (deb822 .sources or one-line .list), not of security or others.
debian_mirror() {
    local codename
    codename=$(. /etc/os-release && echo "$VERSION_CODENAME")
    {
        { cat /etc/apt/sources.list.d/*.sources 2>/dev/null || true; } | awk -v want="$codename" '
            /^URIs:/ { uri = $2 }
            /^Suites:/ { for (i = 2; i <= NF; i++) if ($i == want) found = 1 }
            /^$/ { if (found && uri) { print uri; exit } uri = ""; found = 0 }
            END { if (found && uri) print uri }'
        { cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null || true; } \
            | sed -E 's/\[[^]]*\]//' | awk -v want="$codename" '$1 == "deb" && $3 == want { print $2 }'
    } | awk 'NR == 1'
}

install_host_deps() {
    [[ "$(dpkg-query -W -f='${Status}' debootstrap 2>/dev/null)" == *" installed" ]] && return 0
    echo "== installing debootstrap"
    DEBIAN_FRONTEND=noninteractive apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >/dev/null
}

# Makes (or reuses) the root of major $1 and installs that major in it.
make_root() {
    local v=$1 root=$roots/${suite[$1]} mirror=$2
    local pkgs="postgresql-$v postgresql-server-dev-$v postgresql-$v-pgtap libtap-parser-sourcehandler-pgtap-perl gcc make libc6-dev"
    if [ ! -x "$root/usr/lib/postgresql/$v/bin/postgres" ]; then
        echo "== debootstrap ${suite[$v]} from $mirror into $root"
        rm -rf "$root"
        debootstrap --variant=minbase "${suite[$v]}" "$root" "$mirror" >"$roots/${suite[$v]}.log" 2>&1 \
            || { tail -n 20 "$roots/${suite[$v]}.log" >&2; return 1; }
    fi
    # sid's Release file may be past its Valid-Until on a snapshot mirror; the
    # signatures are still checked
    echo 'Acquire::Check-Valid-Until "false";' >"$root/etc/apt/apt.conf.d/99cs-valid-until"
    # no cluster made by the package, no service started in the root
    mkdir -p "$root/etc/postgresql-common"
    echo 'create_main_cluster = false' >"$root/etc/postgresql-common/createcluster.conf"
    printf '#!/bin/sh\nexit 101\n' >"$root/usr/sbin/policy-rc.d"
    chmod 755 "$root/usr/sbin/policy-rc.d"
    mountpoint -q "$root/proc" || mount -t proc proc "$root/proc"
    echo "== installing $pkgs in ${suite[$v]}"
    root_apt_install "$root" "$roots/${suite[$v]}-apt.log" "$pkgs"
}

# apt-get update, then install packages in a root ($1 root, $2 log, $3 packages);
# prints the log's end if it fails.
root_apt_install() {
    chroot "$1" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin DEBIAN_FRONTEND=noninteractive \
        sh -c "apt-get update -qq && apt-get install -y -qq --no-install-recommends $3" >"$2" 2>&1 \
        || { tail -n 20 "$2" >&2; return 1; }
}

# The major an upgrade starts from, installed beside the root's own from the
# Debian release that ships it ($1: root's major, $2: old major, $3: mirror).
add_old_major() {
    local root=$roots/${suite[$1]} old=$2 release
    case $old in
        15) release=bookworm ;;
        *) echo "no Debian release known for PostgreSQL $old" >&2; return 1 ;;
    esac
    echo "deb $3 $release main" >"$root/etc/apt/sources.list.d/cs-$release.list"
    echo "== installing postgresql-$old postgresql-server-dev-$old in ${suite[$1]}"
    root_apt_install "$root" "$roots/${suite[$1]}-apt-$old.log" "postgresql-$old postgresql-server-dev-$old"
}

# Copies the checkout (tracked and untracked files, not what git ignores) into
# the root and runs a script of it there ($2, default the suite's); prints its log.
run_in_root() {
    local v=$1 root=$roots/${suite[$1]} run=${2:-$script}
    rm -rf "$root/build"
    mkdir -p "$root/build/credit_sandbox"
    git -C "$CS_REPO" ls-files -z -co --exclude-standard \
        | tar -C "$CS_REPO" --null -T - -cf - | tar -C "$root/build/credit_sandbox" -xf -
    local bench=
    if [ -d "${CS_BENCH_SHARED:-}" ]; then cp -a "$CS_BENCH_SHARED" "$root/build/shared_bench"; bench=/build/shared_bench; fi
    chroot "$root" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LANG=C.UTF-8 \
        CS_PG_MAJOR="$v" CS_OLD_MAJOR="${CS_OLD_MAJOR:-15}" CS_PGPORT="${port[$v]}" CS_FUZZ=0 \
        CS_CONCURRENCY="${CS_CONCURRENCY:-1}" CS_BENCH_RUNS="${CS_BENCH_RUNS:-1}" CS_BENCH_SHARED="$bench" \
        "CS_SERVER_CONF=dynamic_shared_memory_type = mmap" \
        bash "/build/credit_sandbox/$run" "${script_args[@]}"
}

# Adds the "N passed, M failed" of one leg's log to the totals.
count_leg() {
    local v=$1 log=$2 line
    line=$(grep -E '^[0-9]+ passed, [0-9]+ failed$' "$log" | tail -n 1 || true)
    if [ -z "$line" ]; then
        leg_result[$v]="did not finish"
        failed=$((failed + 1))
        return
    fi
    leg_result[$v]=$line
    passed=$((passed + ${line%% passed*}))
    line=${line#*, }
    failed=$((failed + ${line%% failed}))
}

mirror=${CS_DEBIAN_MIRROR:-}
for v in $majors; do
    start=$SECONDS
    log=$roots/check-$v.log
    echo "======== PostgreSQL $v"
    case $v in
        15)
            bash "$CS_REPO/$script" "${script_args[@]}" 2>&1 | tee "$log" || true
            ;;
        17|18|15-17)
            install_host_deps
            [ -n "$mirror" ] || mirror=$(debian_mirror)
            [ -n "$mirror" ] || cs_die "no Debian mirror in this machine's apt sources (set CS_DEBIAN_MIRROR)"
            new=${v#*-} ran=0
            if make_root "$new" "$mirror"; then
                if [ "$v" != 15-17 ]; then
                    run_in_root "$new" 2>&1 | tee "$log" || true
                    ran=1
                elif add_old_major "$new" 15 "$mirror"; then
                    CS_OLD_MAJOR=15 run_in_root "$new" test/upgrade_major.sh 2>&1 | tee "$log" || true
                    ran=1
                fi
            fi
            if [ "$ran" = 0 ]; then echo "could not make the root for PostgreSQL $v" | tee "$log"; fi
            release_root "$roots/${suite[$new]}"
            ;;
        *)
            echo "PostgreSQL $v is not supported (15, 17, 18, 15-17)" | tee "$log"
            ;;
    esac
    count_leg "$v" "$log"
    leg_seconds[$v]=$((SECONDS - start))
done

echo "======== summary"
for v in $majors; do
    case $v in
        *-*) label="pg_upgrade ${v%-*} -> ${v#*-}" ;;
        *) label="PostgreSQL $v" ;;
    esac
    echo "$label: ${leg_result[$v]} (${leg_seconds[$v]} s)"
done
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
