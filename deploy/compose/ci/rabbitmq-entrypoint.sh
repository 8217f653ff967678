#!/bin/bash
set -euo pipefail
umask 077
cat > /var/lib/rabbitmq/rabbitmq.conf <<CONF
listeners.tcp.1 = 127.0.0.1:${AMQP_PORT}
default_user = ${RABBITMQ_DEFAULT_USER}
default_pass = ${RABBITMQ_DEFAULT_PASS}
loopback_users = none
CONF
exec rabbitmq-server
