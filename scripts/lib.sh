# Shared by the scripts: `source "$ROOT/scripts/lib.sh"` (needs $ROOT).

# ensure_npm TAG DIR...: `npm ci` in each DIR only when its node_modules is
# missing or older than its package-lock.json.
ensure_npm() {
  local tag=$1 dir
  shift
  for dir in "$@"; do
    if [ ! -f "$dir/node_modules/.package-lock.json" ] ||
       [ "$dir/package-lock.json" -nt "$dir/node_modules/.package-lock.json" ]; then
      echo "[$tag] npm ci in ${dir#"$ROOT"/}"
      (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error)
    fi
  done
}

# need_chromium TAG: fail clearly when Debian's Chromium is missing.
need_chromium() {
  [ -x /usr/bin/chromium ] || {
    echo "[$1] /usr/bin/chromium is missing: run scripts/setup.sh (or apt-get install chromium)" >&2
    exit 1
  }
}
