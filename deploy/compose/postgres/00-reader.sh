#!/bin/sh
# Runs once, on the first start of the legacy PostgreSQL container (before
# 01-seed.sql): the read-only role the connector logs in with. Its password
# comes from the environment (deploy/.env), never from this file.
set -eu
psql -v ON_ERROR_STOP=1 -v pw="$LEGACY_READER_PASSWORD" --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" <<'SQL'
CREATE ROLE trickle_reader LOGIN PASSWORD :'pw';
SQL
