# Shared by deploy/run and deploy/test: install packages, build, and a private MariaDB in a project-owned folder.
# Source it; every function prints what it does and returns non-zero on failure.

WF_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

# Never fails: a log line that cannot be written (the terminal or the pipe it went to is gone, e.g. tee after
# Ctrl-C) must not stop the script, least of all its cleanup.
wf_log() { printf '[whalefeed] %s\n' "$*" >&2 2>/dev/null || true; }

# wf_cleanup_guard: the first thing a cleanup (trap handler) runs, so that it finishes whatever the output is
# connected to. After Ctrl-C on `deploy/run | tee run.log` tee is gone: a write to it raises SIGPIPE, which
# kills bash by default, and fails under `set -e`; a second Ctrl-C would interrupt the cleanup too.
wf_cleanup_guard() {
  trap '' INT TERM HUP PIPE
  set +e
}

# Installs the packages of deploy/packages.txt that are missing (apt-get, non-interactive, idempotent).
wf_install_packages() {
  local missing=() pkg
  while read -r pkg; do
    [ -z "$pkg" ] && continue
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || missing+=("$pkg")
  done < <(grep -v '^\s*#' "$WF_ROOT/deploy/packages.txt")
  [ ${#missing[@]} -eq 0 ] && return 0
  wf_log "installing ${#missing[@]} Debian packages: ${missing[*]}"
  local sudo=()
  if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null || { wf_log "need root (or sudo) to install: ${missing[*]}"; return 1; }
    sudo=(sudo)
  fi
  export DEBIAN_FRONTEND=noninteractive
  "${sudo[@]}" apt-get update -qq || return 1
  "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null || return 1
}

# wf_build BUILD_DIR BUILD_TYPE TARGETS [extra cmake args...]: configures, then builds TARGETS (a space
# separated list, "all" for everything) incrementally with Ninja.
wf_build() {
  local dir=$1 type=$2 targets=$3
  shift 3
  mkdir -p "$dir"
  cmake -S "$WF_ROOT" -B "$dir" -G Ninja -DCMAKE_BUILD_TYPE="$type" "$@" >"$dir/configure.log" 2>&1 ||
    { cat "$dir/configure.log" >&2; return 1; }
  wf_log "building $targets in ${dir#$WF_ROOT/} ($(nproc) jobs)"
  # shellcheck disable=SC2086
  cmake --build "$dir" -j "$(nproc)" --target $targets
}

# wf_stop_pid PID: SIGTERM, up to 30 s to exit, then SIGKILL.
wf_stop_pid() {
  local pid=$1
  kill -TERM "$pid" 2>/dev/null || return 0
  for _ in $(seq 1 300); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.1; done
  kill -KILL "$pid" 2>/dev/null || true
}

# wf_stop_pidfile FILE NAME: stops the process of a pid file left by an earlier run, if it still runs and is
# still NAME (a pid can be reused by another program after a reboot).
wf_stop_pidfile() {
  local file=$1 name=$2 pid
  if [ -f "$file" ]; then
    pid=$(cat "$file")
    if tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q -- "$name"; then wf_stop_pid "$pid"; fi
  fi
  rm -f "$file"
}

# The MariaDB server binaries live in /usr/sbin and /usr/bin on Debian.
wf_mariadbd() { command -v mariadbd || echo /usr/sbin/mariadbd; }

# wf_mariadb_stop DIR: stops the server of DIR, also one left behind by a run that was killed.
wf_mariadb_stop() {
  local dir=$1 pid=""
  [ -f "$dir/mysqld.pid" ] && pid=$(cat "$dir/mysqld.pid" 2>/dev/null)
  if [ -z "$pid" ] || ! kill -0 "$pid" 2>/dev/null; then
    pid=$(pgrep -f -- "--datadir=$dir/data( |$)" | head -n1 || true)
  fi
  [ -n "$pid" ] && wf_stop_pid "$pid"
  rm -f "$dir/mysqld.pid" "$dir/mysqld.sock" "$dir/mysqld.sock.lock"
}

# wf_mariadb_start DIR [durable]: a private server with its data, socket, pid file and log under DIR (no TCP
# port, so nothing clashes with another server). Creates the account whalefeed/whalefeed with every
# privilege. Sets WF_MARIADB_SOCKET. The redo log is flushed once a second unless "durable" (as production
# runs: flushed at every commit), which benchmarks use.
wf_mariadb_start() {
  local dir=$1 flush=2
  [ "${2:-}" = durable ] && flush=1
  mkdir -p "$dir"
  dir=$(cd "$dir" && pwd)
  wf_mariadb_stop "$dir"
  local as_root=()
  [ "$(id -u)" -eq 0 ] && as_root=(--user=root)
  mkdir -p "$dir/tmp"  # its own: servers sharing /tmp collide on temporary table names
  if [ ! -d "$dir/data/mysql" ]; then
    rm -rf "$dir/data"
    wf_log "initialising a MariaDB data folder in ${dir#$WF_ROOT/}"
    mariadb-install-db --no-defaults --datadir="$dir/data" --tmpdir="$dir/tmp" \
      --auth-root-authentication-method=socket --skip-test-db "${as_root[@]}" \
      >"$dir/install.log" 2>&1 || { cat "$dir/install.log" >&2; return 1; }
  fi
  "$(wf_mariadbd)" --no-defaults --datadir="$dir/data" --tmpdir="$dir/tmp" --socket="$dir/mysqld.sock" \
    --pid-file="$dir/mysqld.pid" --skip-networking --skip-name-resolve --log-error="$dir/error.log" \
    --innodb-buffer-pool-size=256M --innodb-log-file-size=64M --innodb-flush-log-at-trx-commit="$flush" \
    --max-connections=500 "${as_root[@]}" </dev/null >/dev/null 2>&1 &
  WF_MARIADB_SOCKET=$dir/mysqld.sock
  local up=""
  for _ in $(seq 1 600); do
    if mariadb-admin --no-defaults --socket="$WF_MARIADB_SOCKET" -u "$(id -un)" ping >/dev/null 2>&1; then
      up=1
      break
    fi
    sleep 0.1
  done
  [ -n "$up" ] || { wf_log "MariaDB did not start; its log:"; tail -n 30 "$dir/error.log" >&2; return 1; }
  mariadb --no-defaults --socket="$WF_MARIADB_SOCKET" -u "$(id -un)" -e "
    CREATE USER IF NOT EXISTS 'whalefeed'@'localhost' IDENTIFIED BY 'whalefeed';
    GRANT ALL PRIVILEGES ON *.* TO 'whalefeed'@'localhost';" || return 1
  wf_log "MariaDB up on ${WF_MARIADB_SOCKET#$WF_ROOT/}"
}
