#!/bin/sh
# Prints .env.example with every empty secret filled with a fresh random value:
#   deploy/generate-env.sh > .env && chmod 600 .env
# Values already set in .env.example (ports, names, versions) are kept; the engine API key stays
# empty (it is created in the engine after the first start, see docs/operations.md).
set -eu
here=$(dirname "$0")
random() { head -c 32 /dev/urandom | base64 | tr -d '/+=\n' | cut -c1-32; }
while IFS= read -r line; do
  case "$line" in
    SKEP_CASES_SECRET=|SKEP_ENGINE_SECRET=|SKEP_CASES_ADMIN_PASSWORD=|SKEP_ENGINE_ADMIN_PASSWORD=|\
    SKEP_CASES_API_KEY=|ELASTIC_PASSWORD=|SKEP_ES_PASSWORD=)
      printf '%s%s\n' "$line" "$(random)" ;;
    *) printf '%s\n' "$line" ;;
  esac
done < "$here/../.env.example"
