#!/bin/sh
# gendocs.sh [GENDOC [OUTDIR]] — regenerates the man pages (OUTDIR/man/elog.1, elog-CMD.1) and
# the completions (OUTDIR/completions/elog.bash, _elog, elog.fish) from the command and option
# tables, with the build tool GENDOC (tools/gendoc.c, built as $(O)/gendoc; default
# build/gendoc).
# OUTDIR defaults to the top of the tree (what `make docs` does); tests/t/t7000-docs.sh writes
# into a temporary OUTDIR and diffs it against the committed files. Pages of commands that no
# longer exist are removed.
set -eu
bin=${1:-build/gendoc}
top=$(cd "$(dirname "$0")/.." && pwd)
out=${2:-$top}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/elog-gendocs.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

mkdir -p "$tmp/man" "$tmp/completions"
"$bin" man elog >"$tmp/man/elog.1"
for cmd in $("$bin" commands); do
	"$bin" man "$cmd" >"$tmp/man/elog-$cmd.1"
done
"$bin" bash >"$tmp/completions/elog.bash"
"$bin" zsh >"$tmp/completions/_elog"
"$bin" fish >"$tmp/completions/elog.fish"

mkdir -p "$out/man" "$out/completions"
for f in "$out"/man/elog.1 "$out"/man/elog-*.1; do
	[ -e "$f" ] || continue
	[ -e "$tmp/man/$(basename "$f")" ] || rm -f "$f"
done
for f in "$tmp"/man/*.1; do
	cp "$f" "$out/man/$(basename "$f")"
done
for f in elog.bash _elog elog.fish; do
	cp "$tmp/completions/$f" "$out/completions/$f"
done
