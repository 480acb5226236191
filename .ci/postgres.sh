# shellcheck shell=bash
# Throwaway PostgreSQL for the tests. Source this file, then:
#
#	pg_start   # installs PostgreSQL if missing, starts a server on a free
#	           # port, creates a database, exports USERINFO_TEST_POSTGRES
#	pg_stop    # stops the server and removes its files
#
# The server runs from a fresh mktemp directory with fsync off: it is for
# tests only. As root (CI), it runs as the postgres user, since PostgreSQL
# refuses to run as root.

PG_TMP=""
PG_BIN=""
PG_USER=""

pg_as_user() {
	if [[ -n "$PG_USER" ]]; then
		runuser -u "$PG_USER" -- "$@"
	else
		"$@"
	fi
}

pg_find_bin() {
	local d
	d=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
	if [[ -n "$d" && -x "$d/initdb" ]]; then
		echo "$d"
	fi
}

pg_start() {
	PG_BIN=$(pg_find_bin)
	if [[ -z "$PG_BIN" ]]; then
		echo "postgres.sh: no initdb under /usr/lib/postgresql/*/bin; installing postgresql" >&2
		export DEBIAN_FRONTEND=noninteractive
		apt-get update -qq
		apt-get install -y -qq postgresql >/dev/null
		PG_BIN=$(pg_find_bin)
		[[ -n "$PG_BIN" ]] || { echo "postgres.sh: postgresql installed but initdb not found" >&2; return 1; }
	fi
	if [[ $(id -u) -eq 0 ]]; then
		PG_USER=postgres
		id -u "$PG_USER" >/dev/null 2>&1 || useradd --system --no-create-home "$PG_USER"
	fi
	PG_TMP=$(mktemp -d "${TMPDIR:-/tmp}/userinfo-pg.XXXXXX")
	[[ -z "$PG_USER" ]] || chown "$PG_USER" "$PG_TMP"
	pg_as_user "$PG_BIN/initdb" --pgdata="$PG_TMP/data" --username=postgres --auth=trust \
		--encoding=UTF8 --locale=C --no-sync >"$PG_TMP/initdb.log" 2>&1 ||
		{ cat "$PG_TMP/initdb.log" >&2; return 1; }

	# A free port: try random ones until the server starts on one.
	local port tries
	for tries in 1 2 3 4 5 6 7 8 9 10; do
		port=$((20000 + RANDOM % 30000))
		if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
			continue # in use
		fi
		if pg_as_user "$PG_BIN/pg_ctl" --pgdata="$PG_TMP/data" --log="$PG_TMP/server.log" --wait --silent \
			--options="-p $port -k $PG_TMP -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=300" \
			start; then
			break
		fi
		port=""
	done
	if [[ -z "$port" ]]; then
		echo "postgres.sh: could not start PostgreSQL; its log:" >&2
		cat "$PG_TMP/server.log" >&2 || true
		return 1
	fi
	pg_as_user "$PG_BIN/createdb" --host=127.0.0.1 --port="$port" --username=postgres userinfo_test
	export USERINFO_TEST_POSTGRES="postgres://postgres@127.0.0.1:$port/userinfo_test?sslmode=disable"
	echo "postgres.sh: PostgreSQL $("$PG_BIN/postgres" --version | awk '{print $3}') at $USERINFO_TEST_POSTGRES" >&2
}

pg_stop() {
	if [[ -n "$PG_TMP" && -d "$PG_TMP/data" ]]; then
		pg_as_user "$PG_BIN/pg_ctl" --pgdata="$PG_TMP/data" --mode=fast --wait --silent stop >/dev/null 2>&1 || true
	fi
	if [[ -n "$PG_TMP" ]]; then
		rm -rf "$PG_TMP"
	fi
	PG_TMP=""
}
