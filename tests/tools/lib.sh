# Shared by the setup scripts (sourced, not run).

# npm ci in DIR, only when its package-lock.json changed since the last
# install there.
npm_ci_if_changed() {
  local dir=$1
  local stamp="$dir/node_modules/.grantkit-lock"
  if ! cmp -s "$dir/package-lock.json" "$stamp" 2>/dev/null; then
    npm ci --prefix "$dir" --no-audit --no-fund
    cp "$dir/package-lock.json" "$stamp"
  fi
}

# Debian's chromium (playwright cannot download browsers here), and with
# `driver` chromium-driver too, when missing. Needs root.
install_chromium() {
  local packages=(chromium)
  [ "${1:-}" = driver ] && packages+=(chromium-driver)
  if ! command -v chromium >/dev/null 2>&1 \
    || { [ "${1:-}" = driver ] && ! command -v chromedriver >/dev/null 2>&1; }; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${packages[@]}"
  fi
}
