#!/usr/bin/env bash
# Make sure the real services the tests use are up on loopback: PostgreSQL (5432), NATS with
# JetStream (4222), and Debian's Chromium for the browser tests. Starts them when installed but
# stopped; installs them from Debian's packages when absent. Idempotent.
set -uo pipefail

have_port() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
apt_updated=0
apt_install() {
  if [ "$apt_updated" = 0 ]; then apt-get update -qq >/dev/null 2>&1 || true; apt_updated=1; fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null 2>&1
}
SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"

# PostgreSQL
if ! have_port 5432; then
  if ! command -v pg_ctlcluster >/dev/null 2>&1; then
    echo "services: installing PostgreSQL"; $SUDO bash -c "$(declare -f apt_install); apt_updated=0; apt_install postgresql"
  fi
  if ! ls /etc/postgresql/*/main >/dev/null 2>&1; then
    ver=$(ls /usr/lib/postgresql | sort -n | tail -1); $SUDO pg_createcluster "$ver" main >/dev/null 2>&1 || true
  fi
  echo "services: starting PostgreSQL"
  $SUDO pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | sort -n | tail -1)" main start >/dev/null 2>&1 || true
  for _ in $(seq 1 30); do have_port 5432 && break; sleep 1; done
  # trust local TCP connections for the test database user when the cluster is new
  if ! psql -h 127.0.0.1 -U postgres -c 'select 1' >/dev/null 2>&1; then
    hba=$(ls /etc/postgresql/*/main/pg_hba.conf | tail -1)
    $SUDO sed -i 's/^\(host\s\+all\s\+all\s\+127.0.0.1\/32\s\+\).*/\1trust/' "$hba"
    $SUDO pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | sort -n | tail -1)" main reload >/dev/null 2>&1 || true
  fi
fi
have_port 5432 && echo "services: PostgreSQL on 127.0.0.1:5432" || echo "services: PostgreSQL NOT available"

# NATS with JetStream
if ! have_port 4222; then
  command -v nats-server >/dev/null 2>&1 || { echo "services: installing nats-server"; apt_install nats-server; }
  echo "services: starting NATS (JetStream)"
  mkdir -p /tmp/lookout-nats
  start-stop-daemon --start --oknodo --background --exec "$(command -v nats-server)" -- \
    -a 127.0.0.1 -p 4222 -js -sd /tmp/lookout-nats -l /tmp/lookout-nats/nats.log >/dev/null 2>&1 \
    || (nohup nats-server -a 127.0.0.1 -p 4222 -js -sd /tmp/lookout-nats >/tmp/lookout-nats/nats.log 2>&1 &)
  for _ in $(seq 1 20); do have_port 4222 && break; sleep 0.5; done
fi
have_port 4222 && echo "services: NATS on 127.0.0.1:4222" || echo "services: NATS NOT available"

# Chromium for the browser tests
if ! command -v chromium >/dev/null 2>&1; then
  echo "services: installing Chromium"; apt_install chromium
fi
command -v chromium >/dev/null 2>&1 && echo "services: $(chromium --version 2>/dev/null | head -1)" || echo "services: Chromium NOT available"
exit 0
