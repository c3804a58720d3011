#!/usr/bin/env bash
# The dependency policy of deny.toml (see SECURITY.md, "Dependencies").
#
# licenses, bans and sources are always checked. advisories needs the RustSec
# advisory database (rustsec/advisory-db, a git repository), which cargo-deny
# would clone from GitHub; these machines reach the package registries only,
# so it is checked only when a copy is already here:
#   - $GRANTKIT_ADVISORY_DB, a clone of rustsec/advisory-db anywhere, or
#   - where `cargo deny fetch` puts it on a machine that reaches GitHub:
#     ${CARGO_HOME:-~/.cargo}/advisory-dbs/advisory-db-3157b0e258782691
# and otherwise skipped with one line saying so. The check never fetches.
set -euo pipefail
cd "$(dirname "$0")/../.."

cargo deny check licenses bans sources

# cargo-deny names the directory of a database after a hash of its URL; this
# is the one for the default URL, which deny.toml keeps.
db_dir=advisory-db-3157b0e258782691
default_db="${CARGO_HOME:-$HOME/.cargo}/advisory-dbs/$db_dir"

if [ -n "${GRANTKIT_ADVISORY_DB:-}" ]; then
  db=$(cd "$GRANTKIT_ADVISORY_DB" && pwd)
  { [ -d "$db/crates" ] && git -C "$db" rev-parse --git-dir >/dev/null 2>&1; } \
    || { echo "deny: GRANTKIT_ADVISORY_DB=$db is not a git clone of rustsec/advisory-db" >&2; exit 1; }
  # A db-path holding the clone under the expected name, in a copy of deny.toml.
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' EXIT
  ln -s "$db" "$tmp/$db_dir"
  sed "s|^\[advisories\]\$|[advisories]\ndb-path = \"$tmp\"|" deny.toml >"$tmp/deny.toml"
  config=(--config "$tmp/deny.toml")
elif [ -d "$default_db" ]; then
  db=$default_db
  config=()
else
  echo "deny: advisories SKIPPED: no local RustSec advisory database (set GRANTKIT_ADVISORY_DB to a clone of rustsec/advisory-db, or run 'cargo deny fetch' where GitHub is reachable); licenses, bans and sources passed"
  exit 0
fi

echo "deny: advisories against the database at $db (last commit $(git -C "$db" log -1 --format=%cs))"
cargo deny --offline "${config[@]}" check advisories
