# A throwaway PostgreSQL server for tests (sourced): its own data directory
# under the test's work directory, owned by the postgres user (the server
# refuses root), listening on a Unix socket in that directory and, when
# PG_TCP=1, on 127.0.0.1. Stopped by pg_stop, which the test's cleanup calls.
#
# After pg_init DIR: PG_DIR, PG_PORT, PG_SOCK (socket directory) and
# PG_CONNINFO (libpq conninfo of database "xdpi" as user postgres).

PG_BIN=/usr/lib/postgresql/15/bin

pg_free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
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
		--no-sync >"$PG_DIR/initdb.log" 2>&1 || return 1
	PG_CONNINFO="host=$PG_SOCK port=$PG_PORT dbname=xdpi user=postgres"
	pg_start && runuser -u postgres -- "$PG_BIN/createdb" -h "$PG_SOCK" -p "$PG_PORT" xdpi
}

pg_start() {
	local listen=""
	[ "${PG_TCP:-0}" = 1 ] && listen=127.0.0.1
	runuser -u postgres -- "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -l "$PG_DIR/server.log" -w -t 30 \
		-o "-p $PG_PORT -k $PG_SOCK -c listen_addresses='$listen' -c fsync=off" \
		start >/dev/null
}

pg_stop() {
	[ -n "${PG_DIR:-}" ] && [ -f "$PG_DIR/data/postmaster.pid" ] &&
		runuser -u postgres -- "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -m fast -w -t 30 \
			stop >/dev/null 2>&1
	return 0
}

pg_sql() { # SQL: one value per line, unaligned
	runuser -u postgres -- psql -h "$PG_SOCK" -p "$PG_PORT" -d xdpi -At -c "$1"
}
