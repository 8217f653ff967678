#!/usr/bin/env bash
# Writes deploy/compose/.env (git-ignored): the secrets docker-compose.yml reads. Keeps an
# existing file unless --force.
source "$(dirname "$0")/../../scripts/lib.sh"
cd "$(dirname "$0")"
[ "${1:-}" = "--force" ] || [ ! -f .env ] || { echo ".env exists (--force to replace)"; exit 0; }
umask 077
cat > .env <<ENV
POSTGRES_PASSWORD=$(random_secret)
RABBITMQ_PASSWORD=$(random_secret)
GATEWAY_SECRET=$(random_secret)
CP_ADMIN_TOKEN=$(random_secret)
QUOTATIONS_APP_KEY=$(random_secret)
IDENTITY_MFA_ENCRYPTION_KEY=$(random_key32)
BROKER_CALLER_TOKEN=$(random_secret)
BROKER_ADMIN_TOKEN=$(random_secret)
BROKER_AUDIT_HMAC_KEY=$(random_secret)
USERS_JWT_SECRET=$(random_secret)
USERS_DOCUMENT_ENCRYPTION_KEY=$(random_key32)
ENV
echo "wrote $(pwd)/.env"
