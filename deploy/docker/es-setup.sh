#!/usr/bin/env bash
# Set-up steps of the compose `elasticsearch` profile, run inside the Elasticsearch image.
#   es-setup.sh certificates  – a CA and a certificate for the node `elasticsearch` (first run only)
#   es-setup.sh user          – the `skep` user, allowed only on the skep_* indices (idempotent)
set -euo pipefail
certs=/usr/share/elasticsearch/config/certs

case "${1:-}" in
certificates)
  if [ -f "$certs/node/node.crt" ]; then
    echo "certificates exist"; exit 0
  fi
  bin/elasticsearch-certutil ca --silent --pem --out /tmp/ca.zip
  unzip -q -o /tmp/ca.zip -d "$certs"
  printf 'instances:\n  - name: node\n    dns: [elasticsearch, localhost]\n    ip: [127.0.0.1]\n' > /tmp/instances.yml
  bin/elasticsearch-certutil cert --silent --pem --in /tmp/instances.yml --out /tmp/node.zip \
    --ca-cert "$certs/ca/ca.crt" --ca-key "$certs/ca/ca.key"
  unzip -q -o /tmp/node.zip -d "$certs"
  # The node (uid 1000) reads everything; the CA key stays readable by root only.
  chown -R 1000:0 "$certs"
  chmod 0755 "$certs" "$certs/ca" "$certs/node"
  chmod 0644 "$certs/ca/ca.crt" "$certs/node/node.crt"
  chmod 0640 "$certs/node/node.key"
  chown 0:0 "$certs/ca/ca.key" && chmod 0600 "$certs/ca/ca.key"
  echo "certificates created"
  ;;
user)
  es() {
    curl -fsS --cacert "$certs/ca/ca.crt" -u "elastic:${ELASTIC_PASSWORD}" \
      -H 'Content-Type: application/json' "https://elasticsearch:9200$1" "${@:2}"
  }
  es /_security/role/skep -X PUT -d '{
    "cluster": ["monitor"],
    "indices": [{"names": ["skep*"], "privileges": ["all"]}]
  }' >/dev/null
  es /_security/user/skep -X PUT -d "{\"password\": \"${SKEP_ES_PASSWORD}\", \"roles\": [\"skep\"]}" >/dev/null
  echo "user skep ready"
  ;;
*)
  echo "usage: es-setup.sh certificates|user" >&2; exit 2
  ;;
esac
