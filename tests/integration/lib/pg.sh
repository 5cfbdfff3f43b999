# A throwaway PostgreSQL server for tests (sourced): its own data directory
# under the test's work directory, owned by the postgres user (the server
# refuses root), listening on a Unix socket in that directory and, when
# PG_TCP=1, on 127.0.0.1. Stopped by pg_stop (or pg_kill), which the test's
# cleanup calls.
#
# After pg_init DIR: PG_DIR, PG_PORT, PG_SOCK (socket directory) and
# PG_CONNINFO (libpq conninfo of database "xdpi" as user postgres: over TCP
# when PG_TCP=1, else over the socket). Logs: $PG_DIR/initdb.log, server.log.

PG_BIN=/usr/lib/postgresql/15/bin

pg_free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# libpq conninfo of DB (default xdpi), the way PG_CONNINFO reaches it.
pg_conninfo() { # [DB]
	local host=$PG_SOCK
	[ "${PG_TCP:-0}" = 1 ] && host=127.0.0.1
	echo "host=$host port=$PG_PORT dbname=${1:-xdpi} user=postgres"
}

pg_init() { # DIR
	PG_DIR=$1
	PG_SOCK=$PG_DIR/sock
	PG_PORT=$(pg_free_port)
	mkdir -p "$PG_DIR/data" "$PG_SOCK" || return 1
	chown -R postgres:postgres "$PG_DIR" || return 1
	# The parents must let the postgres user reach the directory.
	chmod o+rx "$(dirname "$PG_DIR")" "$PG_DIR" 2>/dev/null
	runuser -u postgres -- "$PG_BIN/initdb" -D "$PG_DIR/data" -U postgres -A trust \
		-E UTF8 --locale=C --no-sync >"$PG_DIR/initdb.log" 2>&1 || return 1
	PG_CONNINFO=$(pg_conninfo xdpi)
	pg_start && pg_createdb xdpi
}

pg_createdb() { # DB...
	local db
	for db in "$@"; do
		timeout 30 runuser -u postgres -- "$PG_BIN/createdb" -h "$PG_SOCK" -p "$PG_PORT" "$db" ||
			return 1
	done
}

pg_start() {
	local listen=""
	[ "${PG_TCP:-0}" = 1 ] && listen=127.0.0.1
	runuser -u postgres -- "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -l "$PG_DIR/server.log" -w -t 30 \
		-o "-p $PG_PORT -k $PG_SOCK -c listen_addresses='$listen' -c fsync=off" \
		start >/dev/null
}

# Stops the server if it runs (MODE fast by default: clients are cut off,
# the data stays consistent); returns pg_ctl's status.
pg_stop() { # [MODE]
	[ -n "${PG_DIR:-}" ] && [ -f "$PG_DIR/data/postmaster.pid" ] || return 0
	runuser -u postgres -- "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -m "${1:-fast}" -w -t 30 \
		stop >/dev/null 2>&1
}

# For a test's cleanup: stops at once, and kills the server if even that
# does not answer (the data directory is thrown away).
pg_kill() {
	pg_stop immediate && return 0
	[ -f "$PG_DIR/data/postmaster.pid" ] &&
		kill -KILL "$(head -n 1 "$PG_DIR/data/postmaster.pid")" 2>/dev/null
	return 0
}

pg_sql() { # SQL [DB]: one value per line, unaligned (DB: default xdpi)
	timeout 30 runuser -u postgres -- psql -X -q -h "$PG_SOCK" -p "$PG_PORT" -d "${2:-xdpi}" -At \
		-v ON_ERROR_STOP=1 -c "$1"
}
