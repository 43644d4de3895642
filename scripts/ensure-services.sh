#!/usr/bin/env bash
# Start the local servers the platform or its tests need, where they are installed but
# stopped.  Usage: scripts/ensure-services.sh rabbitmq [postgresql]
set -euo pipefail

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

wait_port() {
  for _ in $(seq 1 60); do port_open "$1" && return 0; sleep 1; done
  echo "error: $2 did not open port $1 within 60 s" >&2; return 1
}

for service in "$@"; do
  case "$service" in
    rabbitmq)
      if ! port_open 5672; then
        if ! command -v rabbitmq-server >/dev/null; then
          echo "error: RabbitMQ is not running on 127.0.0.1:5672 and is not installed." >&2
          echo "       Install it (Debian: apt-get install rabbitmq-server) or set AMQP_URI." >&2
          exit 1
        fi
        echo "starting RabbitMQ..."
        rabbitmq-server -detached
        wait_port 5672 RabbitMQ
      fi
      # the port opens before the broker accepts work; wait until it answers
      command -v rabbitmqctl >/dev/null && rabbitmqctl -q await_startup >/dev/null 2>&1 || true
      ;;
    postgresql)
      if ! port_open 5432; then
        if ! command -v pg_ctlcluster >/dev/null; then
          echo "error: PostgreSQL is not running on 127.0.0.1:5432 and is not installed." >&2
          echo "       Install it (Debian: apt-get install postgresql) or set TEST_POSTGRES_URL." >&2
          exit 1
        fi
        echo "starting PostgreSQL..."
        pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | sort -V | tail -n1)" main start
        wait_port 5432 PostgreSQL
      fi
      ;;
    *) echo "unknown service $service" >&2; exit 2 ;;
  esac
done
