# CI stand-in for the rabbitmq image (make compose-e2e; no registry here): Debian's RabbitMQ with
# the official image's RABBITMQ_DEFAULT_USER/RABBITMQ_DEFAULT_PASS, listening on 127.0.0.1 at
# $AMQP_PORT, with its own node name, epmd and distribution ports (the machine's RabbitMQ holds
# 4369, 5672 and 25672 on the same host network).
ARG RUNTIME_IMAGE=debian:bookworm-slim
FROM ${RUNTIME_IMAGE}
RUN apt-get update \
 && apt-get install -y --no-install-recommends rabbitmq-server \
 && rm -rf /var/lib/apt/lists/*
COPY rabbitmq-entrypoint.sh /usr/local/bin/
USER rabbitmq
ENV HOME=/var/lib/rabbitmq AMQP_PORT=5672 RABBITMQ_NODENAME=rabbit-ci@localhost \
    RABBITMQ_CONFIG_FILE=/var/lib/rabbitmq/rabbitmq
ENTRYPOINT ["/usr/local/bin/rabbitmq-entrypoint.sh"]
