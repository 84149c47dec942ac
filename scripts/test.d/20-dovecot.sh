# Dovecot IMAP for the ingest service's integration tests (services/ingest/tests/).
# The tests render their own dovecot.conf in a temp dir and start `dovecot -F` on free loopback
# ports; this only makes sure the binaries (and openssl for their test CA) are there.
if ! command -v dovecot >/dev/null || ! command -v doveadm >/dev/null || ! command -v openssl >/dev/null; then
  if [ "$(id -u)" = 0 ]; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends dovecot-imapd openssl
  else
    echo "missing dovecot-imapd (install it as root)" >&2
    return 1 2>/dev/null || exit 1
  fi
fi
SKEP_TEST_DOVECOT=$(command -v dovecot)
export SKEP_TEST_DOVECOT
echo "ok"
