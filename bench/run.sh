#!/usr/bin/env bash
# The benchmark (issue 8, DESIGN.md §7): one command, not part of ./test.sh.
#
#   bench/run.sh                 full run (about 25 minutes with the defaults); run it on a quiet machine
#   BENCH_QUICK=1 bench/run.sh   quick run for developing the harness (a few minutes); its numbers are labelled
#                                as not representative
#
# Writes bench/results/<UTC date-time>[-quick].md and replaces the summary in docs/benchmarks.md.
#
# Environment (defaults for a full run, quick-mode defaults in brackets):
#   BENCH_DURATION=15 [3]         seconds of each wrk run
#   BENCH_WARMUP=20 [1]           seconds of unrecorded wrk load on each freshly started target before measuring (the
#                                gateway's JIT reaches tier 1 at about 12 s of load on two cores)
#   BENCH_ONE_CPU_WARMUP=45 [1]   the same for targets confined to one CPU, where tier 1 arrives at 20-38 s of load
#   BENCH_CONNECTIONS=64 [16]     wrk connections of the loaded runs (light-load runs use 1)
#   BENCH_THREADS=2               wrk threads of the loaded runs
#   BENCH_ROUNDS=5 [3]            interleaved rounds direct, bare YARP, Portcullis (at least 3)
#   BENCH_STORM_REQUESTS=500      concurrent requests of one refresh storm
#   BENCH_STORM_ROUNDS=3 [1]      storms per configuration (one gateway, two gateways)
#   BENCH_STORM_TOKEN_TTL=10      access-token lifetime at the provider during the storm phase, seconds (Refresh:Skew is 1 s)
#   BENCH_SESSIONS=100000         filler sessions for the session-scale phase (SQLite)
#   BENCH_PG_SESSIONS=1000000 [10000]  filler sessions for the PostgreSQL session-scale phase ("pgscale"; PostgreSQL is
#                                started on loopback by tests/services/services.sh and installed if missing)
#   BENCH_LOGIN_CONCURRENCY=4     concurrent login loops
#   BENCH_LOGIN_DURATION=30 [5]   seconds the login loops run
#   BENCH_TOKENLESS=1             also measure the gateway on a route without session or token (diagnostic); 0: skip
#   BENCH_BASELINE=/path/Portcullis.Gateway.dll   also measure another build (the "before" of a change) in the same
#                                rounds, default configuration, in place of the second-cache-setting gateway
#   BENCH_SESSION_CACHE=00:00:00  also measure a second gateway with this Session:CacheDuration (00:00:00: the default
#                                session cache off, to show what it buys; "skip": no second gateway; reported apart
#                                from the targets)
#   BENCH_SPLIT_KEY=1             also measure a gateway in Session:Mode split-key in the overhead phase, reported beside
#                                the default (server) mode (issue 15); 0: skip
#   BENCH_STATELESS=1             also measure a gateway in Session:Mode stateless (no store, tokens sealed in cookies)
#                                in the overhead phase, reported beside the default mode (issue 15, ADR 0033); 0: skip
#   BENCH_PHASES=overhead,onecpu,scale,storm,login   which phases to run; "onecpu" runs the overhead rounds again
#                                with bare YARP and the gateway each confined to CPU 0 (taskset), wrk and the upstream to
#                                CPU 1; add (or run alone) "profile" to sample the gateway's thread stacks with dotnet-trace
#                                under the loaded small-JSON load for BENCH_DURATION seconds and report the top methods
#                                (installed into bench/.tools); BENCH_PROFILE_SESSION_CACHE=00:00:05 profiles a gateway
#                                with the opt-in session cache, BENCH_PROFILE_ONE_CPU=1 one confined to one CPU,
#                                BENCH_PROFILE_KIND=gc traces allocations and collections instead (keep it with
#                                BENCH_PROFILE_KEEP=path)
set -euo pipefail
cd "$(dirname "$0")/.."

SCRIPT_NAME=bench/run.sh
# shellcheck source=scripts/provision.sh
source scripts/provision.sh

log "Checking prerequisites"
require_dotnet
command -v wrk >/dev/null || apt_install wrk
command -v node >/dev/null && command -v npm >/dev/null || apt_install nodejs npm
if [ ! -d tests/idp/node_modules/oidc-provider ]; then
  log "Installing the test identity provider (npm oidc-provider)"
  (cd tests/idp && npm ci --no-audit --no-fund --loglevel=error)
fi

if [[ ",${BENCH_PHASES:-}," == *,profile,* ]]; then
  export BENCH_DOTNET_TRACE="$PWD/bench/.tools/dotnet-trace"
  if [ ! -x "$BENCH_DOTNET_TRACE" ]; then
    log "Installing dotnet-trace (profile phase)"
    dotnet tool install dotnet-trace --version 10.0.750501 --tool-path bench/.tools >/dev/null
  fi
fi

log "Building the gateway and the harness (Release)"
dotnet build src/Portcullis.Gateway/Portcullis.Gateway.csproj -c Release --nologo -v q -warnaserror
dotnet build bench/Portcullis.Bench/Portcullis.Bench.csproj -c Release --nologo -v q -warnaserror

if [[ ",${BENCH_PHASES:-pgscale}," == *,pgscale,* ]]; then
  ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || apt_install postgresql
  command -v redis-server >/dev/null || apt_install redis-server
  log "Starting a throwaway PostgreSQL on loopback (pgscale phase)"
  eval "$(tests/services/services.sh start)"
  trap 'tests/services/services.sh stop' EXIT
fi

log "Running the benchmark"
dotnet bench/Portcullis.Bench/bin/Release/net10.0/Portcullis.Bench.dll
