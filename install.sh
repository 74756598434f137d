#!/bin/sh
# ftagent installer. Safe to run twice.
#   From a checkout:            sudo sh install.sh
#   On a machine with internet: curl -fsSL <release>/install.sh | FTAGENT_RELEASE_URL=<release> sh
# Environment:
#   FTAGENT_RELEASE_URL  where release binaries live (ftagent-linux-<arch> under it)
#   FTAGENT_ROOT         install into this directory instead of / (throw-away roots, tests)
#   FTAGENT_PREFIX       program prefix (default /usr/local)
#   FTAGENT_SKIP_PACKAGES=1  do not install system packages (libpcap)
set -eu

DENO_VERSION=2.9.6
ROOT=${FTAGENT_ROOT:-}
PREFIX=${FTAGENT_PREFIX:-/usr/local}
LIB_DIR="$ROOT$PREFIX/lib/ftagent"
BIN="$ROOT$PREFIX/bin/ftagent"

say() { printf 'ftagent install: %s\n' "$*"; }
die() { printf 'ftagent install: error: %s\n' "$*" >&2; exit 1; }

[ "$(uname -s)" = Linux ] || die "ftagent runs on Linux only"
case "$(uname -m)" in
  x86_64 | amd64) ARCH=x86_64 ;;
  aarch64 | arm64) ARCH=aarch64 ;;
  *) die "unsupported CPU architecture $(uname -m)" ;;
esac
if [ -z "$ROOT" ] && [ "$(id -u)" -ne 0 ]; then die "run as root (sudo sh install.sh)"; fi

# --- libpcap ---------------------------------------------------------------------------
have_libpcap() { ldconfig -p 2>/dev/null | grep -q 'libpcap\.so'; }
if [ "${FTAGENT_SKIP_PACKAGES:-0}" != 1 ] && ! have_libpcap; then
  if command -v apt-get >/dev/null; then
    say "installing libpcap0.8 (apt)"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libpcap0.8 >/dev/null ||
      { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libpcap0.8 >/dev/null; }
  elif command -v dnf >/dev/null; then dnf install -y -q libpcap
  elif command -v yum >/dev/null; then yum install -y -q libpcap
  elif command -v apk >/dev/null; then apk add -q libpcap
  else die "install libpcap with your package manager, then run this again"
  fi
fi

# --- the program -----------------------------------------------------------------------
SRC=$(cd "$(dirname "$0")" 2>/dev/null && pwd || true)
mkdir -p "$LIB_DIR" "$(dirname "$BIN")"
if [ -n "$SRC" ] && [ -f "$SRC/deno.json" ] && [ -f "$SRC/cli/main.ts" ]; then
  # From a checkout: Deno runs the bundled agent.
  DENO=$(command -v deno || true)
  if [ -z "$DENO" ] || ! "$DENO" --version | grep -q "^deno $DENO_VERSION "; then
    DENO="$LIB_DIR/deno/node_modules/.bin/deno"
    if ! "$DENO" --version 2>/dev/null | grep -q "^deno $DENO_VERSION "; then
      command -v npm >/dev/null || die "no deno and no npm: install Node.js/npm or Deno $DENO_VERSION first"
      say "installing Deno $DENO_VERSION (npm)"
      npm install --prefix "$LIB_DIR/deno" --no-audit --no-fund "deno@$DENO_VERSION" >/dev/null
    fi
    DENO_RUN="$PREFIX/lib/ftagent/deno/node_modules/.bin/deno"
  else
    DENO_RUN="$DENO"
  fi
  say "bundling the agent from $SRC"
  (cd "$SRC" && "$DENO" install --frozen --quiet && "$DENO" bundle --quiet --platform deno -o "$LIB_DIR/ftagent.js.new" cli/main.ts)
  mv "$LIB_DIR/ftagent.js.new" "$LIB_DIR/ftagent.js"
  cat >"$BIN.new" <<WRAPPER
#!/bin/sh
exec "$DENO_RUN" run --allow-all --quiet --no-prompt "$PREFIX/lib/ftagent/ftagent.js" "\$@"
WRAPPER
  chmod 755 "$BIN.new"
  mv "$BIN.new" "$BIN"
elif [ -n "${FTAGENT_RELEASE_URL:-}" ]; then
  URL="${FTAGENT_RELEASE_URL%/}/ftagent-linux-$ARCH"
  say "downloading $URL"
  if command -v curl >/dev/null; then curl -fsSL -o "$BIN.new" "$URL"
  elif command -v wget >/dev/null; then wget -q -O "$BIN.new" "$URL"
  else die "neither curl nor wget is installed"
  fi
  chmod 755 "$BIN.new"
  mv "$BIN.new" "$BIN"
else
  die "not run from a checkout and FTAGENT_RELEASE_URL is not set: nothing to install"
fi

# --- the service user (only on the real system) ----------------------------------------
SERVICE_USER=ftagent
NOLOGIN=/usr/sbin/nologin
[ -x "$NOLOGIN" ] || NOLOGIN=/sbin/nologin
if [ -n "$ROOT" ]; then
  say "FTAGENT_ROOT is set: not creating the system user $SERVICE_USER (nor chown-ing to it)"
elif id -u "$SERVICE_USER" >/dev/null 2>&1; then
  :
elif command -v useradd >/dev/null; then
  useradd --system --user-group --no-create-home --home-dir /var/lib/ftagent --shell "$NOLOGIN" "$SERVICE_USER"
  say "created the system user $SERVICE_USER"
else
  die "useradd is missing: create the system user $SERVICE_USER, then run this again"
fi

# --- directories (an existing config is kept) --------------------------------------------
mkdir -p "$ROOT/etc/ftagent" "$ROOT/var/lib/ftagent/pcaps" "$ROOT/var/log/ftagent"
chmod 700 "$ROOT/etc/ftagent"
chmod 750 "$ROOT/var/lib/ftagent" "$ROOT/var/log/ftagent"
if [ -z "$ROOT" ]; then
  # The service runs as $SERVICE_USER: it reads the config (mode 0600) and writes its state.
  chown -R "$SERVICE_USER:$(id -gn "$SERVICE_USER")" /etc/ftagent /var/lib/ftagent /var/log/ftagent
fi

# --- the systemd unit (installed, not enabled or started) -----------------------------------
UNIT="$ROOT/etc/systemd/system/ftagent.service"
mkdir -p "$(dirname "$UNIT")"
if [ -n "$SRC" ] && [ -f "$SRC/packaging/ftagent.service" ]; then
  sed "s#/usr/local/bin/ftagent#$PREFIX/bin/ftagent#" "$SRC/packaging/ftagent.service" >"$UNIT.new"
  chmod 644 "$UNIT.new"
  mv "$UNIT.new" "$UNIT"
else
  FTAGENT_ROOT="$ROOT" "$BIN" --install-service >/dev/null
fi
say "installed the systemd unit $UNIT (not enabled)"
if [ -z "$ROOT" ] && [ -d /run/systemd/system ] && command -v systemctl >/dev/null; then
  systemctl daemon-reload
fi

say "installed $("$BIN" --version 2>/dev/null || echo ftagent) at $PREFIX/bin/ftagent"
say "next: ftagent --setup; ftagent --test; systemctl enable --now ftagent"
say "      (or watch by hand: ftagent --interface <IF>; ftagent --help lists everything)"
