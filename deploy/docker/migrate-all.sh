#!/bin/sh
# One-shot migration step (the image built with `--target migrate`): run every service's own
# migrations in sequence, stopping at the first failure. Each `dist/migrate.js` applies that
# service's versioned SQL migrations to its own schema and exits.
set -eu
APP_DIR="${APP_DIR:-/app}"
SERVICES="${MIGRATE_SERVICES:-gateway meter-ingestion rating invoicing credit-ledger}"
for s in $SERVICES; do
  echo "migrate: $s"
  (cd "$APP_DIR/$s" && node dist/migrate.js)
done
echo "migrate: all done"
