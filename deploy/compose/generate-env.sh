#!/usr/bin/env bash
# Writes deploy/compose/.env (git-ignored): the secrets docker-compose.yml reads. Keeps an
# existing file unless --force.
set -euo pipefail
cd "$(dirname "$0")"
[ "${1:-}" = "--force" ] || [ ! -f .env ] || { echo ".env exists (--force to replace)"; exit 0; }
rand() { head -c 32 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=\n'; }
key32() { head -c 32 /dev/urandom | base64 | tr -d '\n'; }
umask 077
cat > .env <<ENV
POSTGRES_PASSWORD=$(rand)
RABBITMQ_PASSWORD=$(rand)
GATEWAY_SECRET=$(rand)
CP_ADMIN_TOKEN=$(rand)
QUOTATIONS_APP_KEY=$(rand)
IDENTITY_MFA_ENCRYPTION_KEY=$(key32)
BROKER_CALLER_TOKEN=$(rand)
BROKER_ADMIN_TOKEN=$(rand)
BROKER_AUDIT_HMAC_KEY=$(rand)
USERS_JWT_SECRET=$(rand)
USERS_DOCUMENT_ENCRYPTION_KEY=$(key32)
ENV
echo "wrote $(pwd)/.env"
