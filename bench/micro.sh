#!/usr/bin/env bash
# BenchmarkDotNet micro-benchmarks of pieces of the authenticated hot path (issue 8); not part of ./test.sh.
#
#   bench/micro.sh                       every benchmark, SQLite plus throwaway PostgreSQL and Redis on loopback
#   bench/micro.sh --filter '*Session*'  BenchmarkDotNet's own arguments pass through
#
# Reports land in $TMPDIR/portcullis-microbench-artifacts/results (BenchmarkDotNet's markdown, CSV and HTML).
set -euo pipefail
cd "$(dirname "$0")/.."

SCRIPT_NAME=bench/micro.sh
# shellcheck source=scripts/provision.sh
source scripts/provision.sh

require_dotnet
if ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1 && command -v redis-server >/dev/null; then
  log "Starting throwaway PostgreSQL and Redis on loopback"
  eval "$(tests/services/services.sh start)"
  trap 'tests/services/services.sh stop >/dev/null 2>&1 || true' EXIT
else
  log "PostgreSQL or Redis is not installed (./test.sh installs both): measuring SQLite only"
fi

log "Building the micro-benchmarks (Release)"
dotnet build bench/Portcullis.MicroBench/Portcullis.MicroBench.csproj -c Release --nologo -v q -warnaserror
[ $# -gt 0 ] || set -- --filter '*'
dotnet bench/Portcullis.MicroBench/bin/Release/net10.0/Portcullis.MicroBench.dll "$@"
