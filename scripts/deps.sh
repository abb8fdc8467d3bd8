#!/usr/bin/env bash
# Install the programs that the smoke, stress and demo scripts drive, on a
# fresh Debian 12 machine.  Nothing is fetched when everything is already
# there, so repeated runs are fast and work offline.
#
#   scripts/deps.sh            install what is missing (needs root + apt)
#   scripts/deps.sh --check    only report what is missing (exit 1 if any)
set -u

check_only=0
[ "${1:-}" = "--check" ] && check_only=1

# command-or-path  debian-package
want=(
    "timeout       coreutils"
    "sort          coreutils"
    "awk           mawk"
    "gcc           gcc"
    "g++           g++"
    "as            binutils"
    "python3       python3"
    "git           git"
    "sqlite3       sqlite3"
    "perl          perl"
    "xz            xz-utils"
    "tar           tar"
    "cmp           diffutils"
    "/usr/bin/time time"
    "gzip          gzip"
    "groff         groff-base"
    "gdb           gdb"
    "node          nodejs"
    "java          default-jre-headless"
    "javac         default-jdk-headless"
)
# (cargo and rustc, which smoke.sh also runs, come with the Rust toolchain
# that builds libpooldbg, not from apt.)

missing=()
for line in "${want[@]}"; do
    read -r cmd pkg <<<"$line"
    if [[ $cmd == /* ]]; then
        [ -x "$cmd" ] && continue
    else
        command -v "$cmd" >/dev/null 2>&1 && continue
    fi
    # A package may be installed while its command is not on PATH (or the
    # other way round); the command is what the scripts need.
    missing+=("$pkg")
done

# De-duplicate.
if [ ${#missing[@]} -gt 0 ]; then
    mapfile -t missing < <(printf '%s\n' "${missing[@]}" | sort -u)
fi

if [ ${#missing[@]} -eq 0 ]; then
    exit 0
fi

echo "deps: missing packages: ${missing[*]}" >&2
if [ $check_only = 1 ]; then
    exit 1
fi

if [ "$(id -u)" != 0 ]; then
    echo "deps: not root; install them with: apt-get install -y ${missing[*]}" >&2
    exit 1
fi

export DEBIAN_FRONTEND=noninteractive
if ! apt-get update -qq; then
    echo "deps: apt-get update failed (offline?)" >&2
fi
if ! apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null; then
    echo "deps: apt-get install ${missing[*]} failed" >&2
    exit 1
fi
echo "deps: installed ${missing[*]}" >&2
exit 0
