# Browser tests (tests/ui): Debian's Chromium and fonts, and playwright-core (pinned in
# tests/ui/package.json and its lock) installed under .test-env/node, so no browser is downloaded.
# Exports SKEP_TEST_CHROMIUM and SKEP_TEST_UI_NODE_MODULES, read by the Rust tests that run tests/ui/*.mjs.
ui_root=${root:-$(pwd)}
if [ ! -x /usr/bin/chromium ] || ! command -v node >/dev/null || ! command -v npm >/dev/null \
  || [ ! -e /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf ]; then
  if [ "$(id -u)" = 0 ]; then
    ui_apt=(chromium fonts-dejavu-core fonts-liberation)
    # A node from another source (e.g. NodeSource) bundles npm; Debian's npm would conflict with it.
    command -v node >/dev/null || ui_apt+=(nodejs)
    command -v npm >/dev/null || ui_apt+=(npm)
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${ui_apt[@]}"
  else
    echo "missing chromium/node/fonts (install them as root): chromium fonts-dejavu-core nodejs npm" >&2
    return 1 2>/dev/null || exit 1
  fi
fi
ui_node=$ui_root/.test-env/node
ui_stamp=$ui_node/.lock.sha256
ui_want=$(cat "$ui_root/tests/ui/package.json" "$ui_root/tests/ui/package-lock.json" | sha256sum | cut -d' ' -f1)
if [ ! -d "$ui_node/node_modules/playwright-core" ] || [ "$(cat "$ui_stamp" 2>/dev/null)" != "$ui_want" ]; then
  mkdir -p "$ui_node"
  cp "$ui_root/tests/ui/package.json" "$ui_root/tests/ui/package-lock.json" "$ui_node/"
  (cd "$ui_node" && npm ci --silent --no-audit --no-fund)
  echo "$ui_want" > "$ui_stamp"
fi
export SKEP_TEST_CHROMIUM=/usr/bin/chromium
export SKEP_TEST_UI_NODE_MODULES=$ui_node/node_modules
NODE_PATH=$SKEP_TEST_UI_NODE_MODULES node -e 'require("playwright-core"); console.log("ok")'
