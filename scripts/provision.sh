# Shared by ./test.sh and bench/run.sh (source it; set SCRIPT_NAME first): logging, installing missing Debian
# packages (one apt-get update per run) and the .NET SDK check.

log() { printf '\n== %s\n' "$*"; }

apt_updated=0
apt_install() {
  if [ "$(id -u)" -ne 0 ]; then
    echo "$SCRIPT_NAME: missing $* and not root; install them (apt-get install $*) and rerun." >&2
    exit 1
  fi
  if [ "$apt_updated" -eq 0 ]; then
    apt-get update -q
    apt_updated=1
  fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$@"
}

require_dotnet() {
  if ! command -v dotnet >/dev/null; then
    echo "$SCRIPT_NAME: the .NET 10 SDK is required (https://dotnet.microsoft.com/download); it is not on PATH." >&2
    exit 1
  fi
}
