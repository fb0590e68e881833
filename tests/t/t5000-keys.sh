#!/bin/sh
# elog keys: create prints a key once (stdout only), stores only its SHA-256; list never shows
# a key; revoke; name and usage errors; the database dump never holds a key; keys made while
# serve runs on the same database are accepted by it at once.
. "$(dirname "$0")/lib.sh"

# must_fail_err STATUS [+]FILE DESC CMD...: like must_fail, CMD's stderr to FILE (+: appended).
must_fail_err() {
	want=$1; errf=$2; desc=$3; shift 3
	case $errf in
	+*) "$@" 2>>"${errf#+}" ;;
	*) "$@" 2>"$errf" ;;
	esac
	got=$?
	[ "$got" = "$want" ] || fail "$desc: exit $got, expected $want: $(cat "${errf#+}")"
}

DB="$T/h.db"
elog keys create ci --db "$DB" >"$T/ci.key" 2>"$T/create.err" || fail "keys create"
KEY=$(cat "$T/ci.key")
[ "$(wc -l <"$T/ci.key")" = 1 ] || fail "create printed more than the key"
echo "$KEY" | grep -Eq '^elog_[a-z2-7]{32}$' || fail "key format: $KEY"
grep -q "ci" "$T/create.err" || fail "create says nothing on stderr"
grep -qF "$KEY" "$T/create.err" && fail "key on stderr"
elog keys create other --db "$DB" >"$T/other.key" 2>/dev/null || fail "second key"
[ "$(cat "$T/other.key")" != "$KEY" ] || fail "two keys are equal"

must_fail_err 1 "$T/dup.err" "duplicate name" elog keys create ci --db "$DB"
grep -q "key 'ci' already exists" "$T/dup.err" || fail "duplicate message: $(cat "$T/dup.err")"
must_fail 1 "bad name" elog keys create "a b" --db "$DB" 2>/dev/null
must_fail 2 "no subcommand" elog keys --db "$DB" 2>/dev/null
must_fail 2 "unknown subcommand" elog keys frob --db "$DB" 2>/dev/null
must_fail 2 "create without a name" elog keys create --db "$DB" 2>/dev/null
must_fail 2 "list with an argument" elog keys list x --db "$DB" 2>/dev/null

# Only the hash is stored, and nothing of the key shows up anywhere in the file.
HASH=$(printf %s "$KEY" | sha256sum | cut -c1-64)
sqlite3 "$DB" .dump >"$T/dump" || fail "sqlite3 .dump"
grep -q "$HASH" "$T/dump" || fail "the key's SHA-256 is not in the database"
grep -qF "$KEY" "$T/dump" && fail "the key is in the database dump"
grep -qF "${KEY#elog_}" "$DB" "$DB-wal" 2>/dev/null && fail "the key is in the database file"

elog keys list --db "$DB" >"$T/list" || fail "keys list"
grep -qF "$KEY" "$T/list" && fail "list shows a key"
grep -q "^ci  *$(echo "$HASH" | cut -c1-12) " "$T/list" || fail "list: $(cat "$T/list")"
grep -q "^other " "$T/list" || fail "list misses other"
elog keys list --db "$DB" --json >"$T/list.json" || fail "keys list --json"
grep -q '^{"name":"ci","hash_prefix":"'"$(echo "$HASH" | cut -c1-12)"'","created":"[0-9T:.Z-]*","last_used":null,"revoked":null}$' \
	"$T/list.json" || fail "list --json: $(cat "$T/list.json")"

expect_success "revoke" elog keys revoke other --db "$DB" 2>/dev/null
expect_success "revoke twice" elog keys revoke other --db "$DB" 2>/dev/null
must_fail_err 1 "$T/rev.err" "revoke unknown" elog keys revoke nosuch --db "$DB"
grep -q "no key named 'nosuch'" "$T/rev.err" || fail "revoke message: $(cat "$T/rev.err")"
elog keys list --db "$DB" --json | grep '"name":"other"' | grep -q '"revoked":"' || fail "not revoked"
elog keys list --db "$DB" --json | grep '"name":"ci"' | grep -q '"revoked":null' || fail "ci revoked"

# $ELOG_DB is the default database.
ELOG_DB="$DB" elog keys list | grep -q '^ci ' || fail "ELOG_DB not used"

# With serve running on the same file: create, use (last_used set), revoke.
start_serve h --auth
elog keys create live --db "$DB" >"$T/live.key" 2>/dev/null || fail "create while serving"
expect_success "new key valid at once" elog validate-key -q --key-file "$T/live.key"
ELOG_API_KEY=$(cat "$T/live.key") elog send -c keys hello || fail "send with the new key"
elog keys list --db "$DB" --json | grep '"name":"live"' | grep -q '"last_used":"' ||
	fail "last_used not set"
expect_success "revoke while serving" elog keys revoke live --db "$DB" 2>/dev/null
must_fail 1 "other key" elog validate-key -q --key-file "$T/other.key"
stop_serve
grep -qF "$KEY" "$T/h.err" && fail "key in serve's stderr"
grep -qF "$(cat "$T/live.key")" "$T/h.err" && fail "key in serve's stderr"
say "ok"
