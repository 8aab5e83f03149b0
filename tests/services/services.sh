#!/usr/bin/env bash
# Throwaway PostgreSQL and Redis servers for the tests, on loopback, on free ports, with their data in one temporary
# folder. test.sh starts them; tests restart them through this script (PORTCULLIS_TEST_SERVICES names the folder).
#
#   services.sh start                 -> prints `export ...` lines for the tests
#   services.sh stop                  (everything, removes the folder)
#   services.sh stop-postgres | start-postgres | stop-redis | start-redis
set -euo pipefail

pg_bin() {
  local dir
  dir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
  [ -n "$dir" ] || { echo "services.sh: PostgreSQL server binaries are missing (apt-get install postgresql)" >&2; exit 1; }
  echo "$dir"
}

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()' 2>/dev/null \
    || node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'
}

# initdb and postgres refuse to run as root: run them as the postgres system user then.
as_pg() {
  if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

state() { : "${PORTCULLIS_TEST_SERVICES:?PORTCULLIS_TEST_SERVICES is not set}"; echo "$PORTCULLIS_TEST_SERVICES"; }

start_postgres() {
  local dir; dir=$(state)
  as_pg "$(pg_bin)/pg_ctl" -D "$dir/pg" -l "$dir/pgsock/postgres.log" -w -t 30 start \
    -o "-p $(cat "$dir/pg.port") -k $dir/pgsock -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=400" >/dev/null
}

stop_postgres() {
  local dir; dir=$(state)
  as_pg "$(pg_bin)/pg_ctl" -D "$dir/pg" -m fast -w -t 30 stop >/dev/null || true
}

start_redis() {
  local dir; dir=$(state)
  # Append-only file with fsync on every write: the store must survive a restart without losing a rotated refresh
  # token (docs/deploy.md). rdbcompression off so tests searching a dump for secrets see every string as stored.
  redis-server --port "$(cat "$dir/redis.port")" --bind 127.0.0.1 --dir "$dir/redis" --daemonize yes \
    --pidfile "$dir/redis/redis.pid" --logfile "$dir/redis/redis.log" --save '' --appendonly yes --appendfsync always \
    --rdbcompression no >/dev/null
  for _ in $(seq 1 100); do
    redis-cli -p "$(cat "$dir/redis.port")" ping 2>/dev/null | grep -q PONG && return 0
    sleep 0.1
  done
  echo "services.sh: redis did not start" >&2; cat "$dir/redis/redis.log" >&2; exit 1
}

stop_redis() {
  local dir; dir=$(state)
  redis-cli -p "$(cat "$dir/redis.port")" shutdown >/dev/null 2>&1 || true
  for _ in $(seq 1 100); do
    [ -f "$dir/redis/redis.pid" ] && kill -0 "$(cat "$dir/redis/redis.pid")" 2>/dev/null || return 0
    sleep 0.1
  done
}

case "${1:-}" in
  start)
    dir=$(mktemp -d /tmp/portcullis-services.XXXXXX)
    chmod 755 "$dir"
    mkdir -p "$dir/pg" "$dir/pgsock" "$dir/redis"
    [ "$(id -u)" -eq 0 ] && chown postgres "$dir/pg" "$dir/pgsock"
    free_port >"$dir/pg.port"
    free_port >"$dir/redis.port"
    export PORTCULLIS_TEST_SERVICES="$dir"
    as_pg "$(pg_bin)/initdb" -D "$dir/pg" -U portcullis -A trust -E UTF8 --no-sync >"$dir/initdb.log" 2>&1 \
      || { cat "$dir/initdb.log" >&2; exit 1; }
    start_postgres
    start_redis
    echo "export PORTCULLIS_TEST_SERVICES='$dir'"
    echo "export PORTCULLIS_TEST_POSTGRES='Host=127.0.0.1;Port=$(cat "$dir/pg.port");Username=portcullis;Database=postgres'"
    echo "export PORTCULLIS_TEST_PG_BIN='$(pg_bin)'"
    echo "export PORTCULLIS_TEST_REDIS='127.0.0.1:$(cat "$dir/redis.port")'"
    echo "export PORTCULLIS_TEST_REDIS_DIR='$dir/redis'"
    echo "export PORTCULLIS_TEST_NGINX='$(command -v nginx || echo /usr/sbin/nginx)'"
    ;;
  stop)
    stop_redis
    stop_postgres
    rm -rf "$(state)"
    ;;
  stop-postgres) stop_postgres ;;
  start-postgres) start_postgres ;;
  stop-redis) stop_redis ;;
  start-redis) start_redis ;;
  *) echo "usage: $0 start|stop|stop-postgres|start-postgres|stop-redis|start-redis" >&2; exit 2 ;;
esac
