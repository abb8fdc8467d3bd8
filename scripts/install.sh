#!/bin/sh
# Installs or removes libpooldbg, its wrapper and its man page.
#
#   scripts/install.sh install   PREFIX     (make install PREFIX=/usr/local)
#   scripts/install.sh uninstall PREFIX     (make uninstall PREFIX=/usr/local)
#
# Files: PREFIX/lib/libpooldbg.so.0 (its SONAME) and the link libpooldbg.so,
#        PREFIX/bin/pooldbg, PREFIX/bin/pooldbg-symbolize,
#        PREFIX/share/pooldbg/pooldbg_report.py (the symbolizer's report parser),
#        PREFIX/share/man/man1/pooldbg.1, PREFIX/include/pooldbg.h (weak
#        declarations of the library's API: nothing to link) and
#        PREFIX/lib/pkgconfig/pooldbg.pc (`pkg-config --cflags pooldbg`;
#        `pkg-config --variable=preload pooldbg` names the library to preload)
# DESTDIR, when set, is put in front of every path (staged installs, packages);
# the wrapper finds the library as ../lib/libpooldbg.so from its own directory,
# so it works wherever the tree finally lands.
# LIB overrides the library to install (default target/release/libpooldbg.so).
set -eu

usage() {
    echo "usage: $0 install|uninstall PREFIX" >&2
    exit 2
}
[ $# -eq 2 ] || usage
action=$1
prefix=$2
[ -n "$prefix" ] || usage
case $prefix in
/*) ;;
*) prefix=$(pwd)/$prefix ;;
esac

root=$(cd "$(dirname "$0")/.." && pwd)
lib=${LIB:-target/release/libpooldbg.so}
case $lib in
/*) ;;
*) lib=$root/$lib ;;
esac
dest=${DESTDIR:-}$prefix

files="lib/libpooldbg.so.0 lib/libpooldbg.so bin/pooldbg bin/pooldbg-symbolize share/pooldbg/pooldbg_report.py
share/pooldbg/pooldbg_sarif.py
share/man/man1/pooldbg.1 include/pooldbg.h lib/pkgconfig/pooldbg.pc"

case $action in
install)
    if [ ! -f "$lib" ]; then
        echo "install: $lib not found; build it first (make lib)" >&2
        exit 1
    fi
    install -d "$dest/lib" "$dest/bin" "$dest/share/pooldbg" "$dest/share/man/man1" "$dest/include" \
        "$dest/lib/pkgconfig"
    install -m 755 "$lib" "$dest/lib/libpooldbg.so.0"
    ln -sf libpooldbg.so.0 "$dest/lib/libpooldbg.so"
    install -m 644 "$root/include/pooldbg.h" "$dest/include/pooldbg.h"
    version=$(sed -n 's/^version = "\(.*\)"$/\1/p' "$root/Cargo.toml" | head -n 1)
    cat >"$dest/lib/pkgconfig/pooldbg.pc" <<EOF
prefix=$prefix
includedir=\${prefix}/include
libdir=\${prefix}/lib
preload=\${libdir}/libpooldbg.so

Name: pooldbg
Description: libpooldbg, a memory-debugging allocator loaded with LD_PRELOAD (weak API declarations; nothing to link)
Version: $version
Cflags: -I\${includedir}
Libs:
EOF
    install -m 755 "$root/scripts/pooldbg" "$dest/bin/pooldbg"
    install -m 755 "$root/scripts/pooldbg-symbolize" "$dest/bin/pooldbg-symbolize"
    install -m 644 "$root/scripts/pooldbg_report.py" "$dest/share/pooldbg/pooldbg_report.py"
    install -m 755 "$root/scripts/pooldbg_sarif.py" "$dest/share/pooldbg/pooldbg_sarif.py"
    install -m 644 "$root/man/pooldbg.1" "$dest/share/man/man1/pooldbg.1"
    for f in $files; do
        echo "installed $dest/$f"
    done
    ;;
uninstall)
    for f in $files; do
        if [ -e "$dest/$f" ] || [ -L "$dest/$f" ]; then
            rm -f "$dest/$f"
            echo "removed $dest/$f"
        fi
    done
    rmdir "$dest/share/pooldbg" "$dest/lib/pkgconfig" 2>/dev/null || true
    ;;
*)
    usage
    ;;
esac
