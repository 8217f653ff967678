# CI stand-in for the postgres image (make compose-e2e; no registry here): Debian's PostgreSQL 15
# with the official image's contract — POSTGRES_USER/POSTGRES_PASSWORD, the SQL files of
# /docker-entrypoint-initdb.d run once on an empty data directory — listening on 127.0.0.1:$PGPORT.
ARG RUNTIME_IMAGE=debian:bookworm-slim
FROM ${RUNTIME_IMAGE}
RUN apt-get update \
 && apt-get install -y --no-install-recommends postgresql \
 && rm -rf /var/lib/apt/lists/* \
 && mkdir -p /var/lib/postgresql/data /docker-entrypoint-initdb.d \
 && chown postgres:postgres /var/lib/postgresql/data
COPY postgres-entrypoint.sh /usr/local/bin/
USER postgres
ENV PGDATA=/var/lib/postgresql/data PGPORT=5432
ENTRYPOINT ["/usr/local/bin/postgres-entrypoint.sh"]
