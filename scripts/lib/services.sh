# Shared by test-services.sh and quickstart.sh: install from Debian and start, idempotently.
# Expects STATE_DIR to be set.

log() { printf '[%s] %s\n' "${LOG_TAG:-tapit}" "$*"; }

as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi
}

apt_install() {
  local missing=()
  for pkg in "$@"; do
    dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  log "installing ${missing[*]} from Debian"
  if [ ! -f "$STATE_DIR/apt-updated" ]; then
    as_root apt-get update -q >"$STATE_DIR/apt.log" 2>&1
    touch "$STATE_DIR/apt-updated"
  fi
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}" >>"$STATE_DIR/apt.log" 2>&1 \
    || { tail -20 "$STATE_DIR/apt.log"; exit 1; }
}

# Debian's PostgreSQL, as a cluster of our own on $1, with a superuser tapit/tapit.
start_postgres() {
  local port="$1" cluster="$2" version
  apt_install postgresql
  version=$(ls /usr/lib/postgresql | sort -V | tail -1)
  if ! pg_lsclusters -h | awk '{print $2}' | grep -qx "$cluster"; then
    log "creating PostgreSQL $version cluster $cluster on port $port"
    as_root pg_createcluster "$version" "$cluster" -p "$port" >/dev/null
    # Tests create and drop many databases; durability buys nothing there.
    as_root pg_conftool "$version" "$cluster" set fsync off
    as_root pg_conftool "$version" "$cluster" set synchronous_commit off
    as_root pg_conftool "$version" "$cluster" set max_connections 300
  fi
  if ! pg_lsclusters -h | awk -v c="$cluster" '$2 == c {print $4}' | grep -qx online; then
    log "starting PostgreSQL cluster $cluster"
    as_root pg_ctlcluster "$version" "$cluster" start
  fi
  as_root su postgres -c "psql -q -p $port -tAc \"SELECT 1 FROM pg_roles WHERE rolname = 'tapit'\"" | grep -q 1 \
    || as_root su postgres -c "psql -q -p $port -c \"CREATE ROLE tapit LOGIN SUPERUSER PASSWORD 'tapit'\""
  log "PostgreSQL ready: postgres://tapit:tapit@127.0.0.1:$port/postgres"
}

# The Docker engine from Debian's docker.io, started in the background if none answers.
start_docker() {
  apt_install docker.io busybox-static
  if ! docker info >/dev/null 2>&1; then
    log "starting dockerd (log: $STATE_DIR/dockerd.log)"
    # No bridge and no iptables: this machine's task containers use network none or host.
    as_root sh -c "nohup dockerd --bridge=none --iptables=false >'$STATE_DIR/dockerd.log' 2>&1 &"
    for _ in $(seq 1 60); do
      docker info >/dev/null 2>&1 && break
      sleep 0.5
    done
    docker info >/dev/null 2>&1 || { tail -20 "$STATE_DIR/dockerd.log"; exit 1; }
  fi
  log "Docker ready: $(docker version --format '{{.Server.Version}}')"
}
