#!/bin/sh
# t7000-docs: the committed man pages and completions are what the option tables generate;
# every option of --help is in the man page, SYNOPSIS is the usage line, groff is silent;
# the bash (and, where installed, zsh and fish) completions offer commands, options, values
# and the components of a live server or history file.
. "$(dirname "$0")/lib.sh"
# the generator is a build tool, built next to the binary (Makefile: $(O)/gendoc)
GENDOC=$(dirname "$ELOG_BIN")/gendoc

say "regenerating into \$T/gen gives the committed files"
expect_success "gendocs" sh "$ELOG_TOP/tools/gendocs.sh" "$GENDOC" "$T/gen"
diff -ru "$ELOG_TOP/man" "$T/gen/man" >"$T/man.diff" ||
	{ head -40 "$T/man.diff"; fail "man/ is stale: run 'make docs'"; }
diff -ru "$ELOG_TOP/completions" "$T/gen/completions" >"$T/comp.diff" ||
	{ head -40 "$T/comp.diff"; fail "completions/ is stale: run 'make docs'"; }
# twice gives the same bytes
expect_success "gendocs again" sh "$ELOG_TOP/tools/gendocs.sh" "$GENDOC" "$T/gen2"
expect_success "deterministic" diff -r "$T/gen" "$T/gen2"

cmds=$("$GENDOC" commands)
[ -n "$cmds" ] || fail "no commands listed"
# groff escapes back to text: \- \(aq \(ga \e \& \%
unroff() {
	sed -e 's/\\-/-/g' -e "s/\\\\(aq/'/g" -e 's/\\(ga/`/g' -e 's/\\(ti/~/g' -e 's/\\(ha/^/g' \
		-e 's/\\&//g' -e 's/\\%//g' -e 's/\\f[BIR]//g' -e 's/\\e/\\/g'
}

for c in $cmds; do
	page="$ELOG_TOP/man/elog-$c.1"
	[ -f "$page" ] || fail "no man page for '$c'"
	elog help "$c" >"$T/help" || fail "elog help $c"
	elog "$c" --help >"$T/help2" || fail "elog $c --help"
	test_cmp "$T/help" "$T/help2"
	# every long option of --help is in the page
	for o in $(grep -o -- '--[a-z][a-z0-9-]*' "$T/help" | sort -u); do
		esc=$(printf '%s' "$o" | sed 's/-/\\\\-/g')
		grep -q -- "$esc" "$page" || fail "elog-$c.1 does not mention $o"
	done
	# SYNOPSIS is the usage line (or lines: "usage: elog c A" then "       elog c B")
	awk 'NR == 1 { sub(/^usage: /, ""); print; next } /^$/ { exit } { sub(/^ +/, ""); print }' \
		"$T/help" >"$T/want"
	sed -n '/^\.SH SYNOPSIS/,/^\.SH/p' "$page" | sed -e '1d' -e '$d' | grep -v '^\.br$' |
		awk '/^\.B / { if (cur != "") print cur; cur = substr($0, 4); next }
		     { cur = cur " " $0 } END { if (cur != "") print cur }' | unroff >"$T/got"
	diff -u "$T/want" "$T/got" || fail "elog-$c.1 SYNOPSIS is not the usage of --help"
	# the sections the issue asks for
	for s in NAME SYNOPSIS DESCRIPTION OPTIONS "EXIT STATUS" "SEE ALSO"; do
		grep -q "^\.SH $s\$" "$page" || fail "elog-$c.1 has no $s"
	done
	grep -q "^\.BR \\\\%elog\\\\-$(printf '%s' "$c" | sed 's/-/\\\\-/g') (1)" "$ELOG_TOP/man/elog.1" ||
		fail "elog.1 does not list $c"
done
# no stray pages
for f in "$ELOG_TOP"/man/elog-*.1; do
	n=$(basename "$f" .1); n=${n#elog-}
	echo "$cmds" | grep -qx -- "$n" || fail "man/elog-$n.1 has no command"
done

say "groff -man -ww -z is silent"
if command -v groff >/dev/null 2>&1; then
	for f in "$ELOG_TOP"/man/*.1; do
		groff -man -ww -z "$f" >"$T/groff.out" 2>&1 || fail "groff failed on $f"
		[ -s "$T/groff.out" ] && { cat "$T/groff.out"; fail "groff warns on $f"; }
	done
	# rendered, an option reads as typed
	groff -man -Tutf8 "$ELOG_TOP/man/elog-logs.1" 2>/dev/null | col -b >"$T/logs.txt"
	grep -q -- '--color WHEN' "$T/logs.txt" || fail "rendered page lacks '--color WHEN'"
else
	say "SKIP groff checks: groff is not installed (tools/deps.sh installs groff-base)"
fi

say "hidden commands are not listed"
elog --help >"$T/usage"
grep -q __ "$T/usage" && fail "elog --help lists a hidden command"
grep -v '^\.\\"' "$ELOG_TOP/man/elog.1" | grep -q __ && fail "elog.1 names a hidden command"

say "bash completion"
bin="$T/bin"; mkdir -p "$bin"; ln -s "$ELOG_BIN" "$bin/elog"
cat >"$T/comp.bash" <<'EOF'
. "$ELOG_TOP/completions/elog.bash"
# comp WORDS...: completes the last word; prints one candidate a line
comp() {
	COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); COMP_LINE="$*"; COMP_POINT=${#COMP_LINE}
	COMPREPLY=()
	_elog
	printf '%s\n' "${COMPREPLY[@]}"
}
EOF
bcomp() { ELOG_TOP="$ELOG_TOP" PATH="$bin:$PATH" bash -c '. "$1"; shift; comp "$@"' - "$T/comp.bash" "$@"; }
has() { grep -qx -- "$1" "$T/out" || { cat "$T/out"; fail "completion lacks '$1' ($2)"; }; }
bcomp elog lo >"$T/out"; has logs "elog lo"
[ "$(cat "$T/out")" = logs ] || fail "elog lo offers more than logs: $(cat "$T/out")"
bcomp elog logs --co >"$T/out"; has --color "elog logs --co"; has --component "elog logs --co"
bcomp elog lo --co >"$T/out"; has --color "elog lo --co (prefix)"
bcomp elog logs --color '' >"$T/out"; has auto "--color values"; has never "--color values"
bcomp elog logs --color = al >"$T/out"; has always "--color=al"
bcomp elog send -l w >"$T/out"; has warn "send -l w"
bcomp elog '' >"$T/out"; has serve "commands"; has help "commands"
bcomp elog help ex >"$T/out"; has export "help ex"
mkdir -p "$T/dir"; : >"$T/dir/hist.db"
bcomp elog export --db "$T/dir/hi" >"$T/out"; has "$T/dir/hist.db" "file value"
bcomp elog logs --db "$T/dir/hist.db" --js >"$T/out"; has --json "option after a file"

say "component names come from the server, else from the history"
start_serve comp
elog send -c api 'one' && elog send -c worker 'two' || fail "send"
# completion asks the server for at most 200 ms (a tab must not hang); on a loaded machine an
# ASan build can miss that, so each case asks again (up to 20 times) until the names come
comp_has() {
	want=$1 what=$2; shift 2
	k=0
	while [ $k -lt 20 ]; do
		"$@" >"$T/out"
		grep -qx -- "$want" "$T/out" && return 0
		k=$((k + 1))
	done
	cat "$T/out"; fail "completion lacks '$want' ($what)"
}
comp_has api "server components" bcomp elog logs -c ''
comp_has worker "server components" bcomp elog logs -c ''
comp_has api,worker "comma list" bcomp elog logs -c api,w
comp_has worker "--server on the line" bcomp elog logs --server "$SERVER" -c w
comp_has api "--server wins" env ELOG_SERVER=127.0.0.1:1 ELOG_TOP="$ELOG_TOP" PATH="$bin:$PATH" \
	bash -c '. "$1"; shift; comp "$@"' - "$T/comp.bash" elog logs --server "$SERVER" -c ''
stop_serve
# no server: the history named on the line, or the default one
bcomp elog logs --db "$T/comp.db" -c '' >"$T/out"; has api "--db history"
ELOG_DB="$T/comp.db" bcomp elog logs -c '' >"$T/out"; has worker "default history"
# neither: nothing, quickly
start=$(date +%s%N)
ELOG_SERVER=127.0.0.1:1 elog __complete components >"$T/out" 2>&1
end=$(date +%s%N)
[ -s "$T/out" ] && fail "__complete printed something with no server and no history: $(cat "$T/out")"
[ $(( (end - start) / 1000000 )) -lt 2000 ] || fail "__complete took $(( (end - start) / 1000000 )) ms"
[ -e "$XDG_STATE_HOME/elog/history.db" ] && fail "__complete created the default history"

if command -v zsh >/dev/null 2>&1; then
	say "zsh: the script parses"
	zsh -n "$ELOG_TOP/completions/_elog" || fail "zsh -n _elog"
fi
if command -v fish >/dev/null 2>&1; then
	say "fish completion"
	fcomp() { PATH="$bin:$PATH" fish -c "source '$ELOG_TOP/completions/elog.fish'; complete -C '$1'" | cut -f1; }
	fcomp 'elog lo' >"$T/out"; has logs "fish: elog lo"
	fcomp 'elog logs --co' >"$T/out"; has --color "fish: --co"
	fcomp 'elog logs --color ' >"$T/out"; has never "fish: --color values"
	ELOG_DB="$T/comp.db" ELOG_SERVER=127.0.0.1:1 fcomp 'elog logs -c ' >"$T/out"
	has api "fish: components"
fi
say "ok"
