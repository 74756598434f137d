#!/bin/sh
# ftagent installer. Safe to run twice.
#   From a checkout:            sudo sh install.sh     (bundles the agent, runs it with Deno)
#   From a release:             curl -fsSL <release>/install.sh | sudo sh
#     downloads ftagent-linux-<arch> and SHA256SUMS from the same release, checks the SHA-256
#     (and the Ed25519 signature SHA256SUMS.sig with the pinned key, where openssl >= 1.1.1 is
#     present) before anything is installed, then installs the binary atomically.
# Environment:
#   FTAGENT_RELEASE_URL  the release directory (default: the project's latest release)
#   FTAGENT_RELEASE_PUBKEY  base64 SPKI DER Ed25519 key to verify with (default: the pinned one)
#   FTAGENT_ROOT         install into this directory instead of / (throw-away roots, tests)
#   FTAGENT_PREFIX       program prefix (default /usr/local)
#   FTAGENT_SKIP_PACKAGES=1  do not install system packages (libpcap)
set -eu

DENO_VERSION=2.9.6
DEFAULT_RELEASE_URL=https://github.com/ftagent/ftagent/releases/latest/download
PINNED_PUBKEY=""
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

# --- the program -----------------------------------------------------------------------
# A checkout when this script is a file next to deno.json (curl | sh reads it from stdin: a release).
SRC=
RELEASE=
if [ -f "$0" ]; then SRC=$(cd "$(dirname "$0")" 2>/dev/null && pwd || true); fi
if [ -n "$SRC" ] && [ -f "$SRC/deno.json" ] && [ -f "$SRC/cli/main.ts" ]; then
  # From a checkout: Deno runs the bundled agent.
  mkdir -p "$LIB_DIR" "$(dirname "$BIN")"
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
else
  # From a release: nothing is installed before the checks pass.
  RELEASE=1
  SRC=
  BASE=${FTAGENT_RELEASE_URL:-$DEFAULT_RELEASE_URL}
  BASE=${BASE%/}
  PUBKEY=${FTAGENT_RELEASE_PUBKEY:-$PINNED_PUBKEY}
  NAME="ftagent-linux-$ARCH"
  TMP=$(mktemp -d "${TMPDIR:-/tmp}/ftagent-install.XXXXXX")
  trap 'rm -rf "$TMP"; rm -f "$BIN.new.$$"' EXIT
  trap 'exit 1' INT TERM HUP
  fetch() {
    if command -v curl >/dev/null; then curl -fsSL --retry 2 -o "$2" "$1"
    elif command -v wget >/dev/null; then wget -q -O "$2" "$1"
    else die "neither curl nor wget is installed"
    fi
  }
  sha256() {
    if command -v sha256sum >/dev/null; then sha256sum "$1" | cut -d' ' -f1
    elif command -v shasum >/dev/null; then shasum -a 256 "$1" | cut -d' ' -f1
    elif command -v openssl >/dev/null; then openssl dgst -sha256 -r "$1" | cut -d' ' -f1
    fi
  }
  say "downloading $BASE/SHA256SUMS"
  fetch "$BASE/SHA256SUMS" "$TMP/SHA256SUMS" || die "could not download $BASE/SHA256SUMS: nothing installed"
  if [ -z "$PUBKEY" ]; then
    say "no release key pinned: signature not checked (SHA-256 only)"
  elif ! command -v openssl >/dev/null || ! openssl pkeyutl -help 2>&1 | grep -q -- -rawin; then
    say "openssl >= 1.1.1 not found: signature not checked (SHA-256 only; ftagent --update checks it)"
  else
    fetch "$BASE/SHA256SUMS.sig" "$TMP/SHA256SUMS.sig" ||
      die "could not download $BASE/SHA256SUMS.sig (a release key is pinned): nothing installed"
    { echo "-----BEGIN PUBLIC KEY-----"; echo "$PUBKEY"; echo "-----END PUBLIC KEY-----"; } >"$TMP/key.pem"
    openssl pkeyutl -verify -pubin -inkey "$TMP/key.pem" -rawin -in "$TMP/SHA256SUMS" \
      -sigfile "$TMP/SHA256SUMS.sig" >/dev/null 2>&1 ||
      die "signature mismatch: $BASE/SHA256SUMS.sig does not verify SHA256SUMS with the pinned key: nothing installed"
    say "signature of SHA256SUMS verified (Ed25519, pinned key)"
  fi
  WANT=$(awk -v f="$NAME" '$2 == f || $2 == "*" f { print $1; exit }' "$TMP/SHA256SUMS")
  [ -n "$WANT" ] || die "SHA256SUMS at $BASE has no line for $NAME: nothing installed"
  say "downloading $BASE/$NAME"
  fetch "$BASE/$NAME" "$TMP/$NAME" || die "could not download $BASE/$NAME: nothing installed"
  GOT=$(sha256 "$TMP/$NAME")
  [ -n "$GOT" ] || die "no sha256sum, shasum or openssl to check the download with: nothing installed"
  [ "$GOT" = "$WANT" ] ||
    die "checksum mismatch for $NAME: expected $WANT, got $GOT: nothing installed"
  say "SHA-256 of $NAME verified"
  # Atomic: a temp file beside the target (same file system), then one rename.
  mkdir -p "$(dirname "$BIN")"
  cp "$TMP/$NAME" "$BIN.new.$$"
  chmod 755 "$BIN.new.$$"
  mv -f "$BIN.new.$$" "$BIN"
  # ftagent --update fetches from where this install came from.
  mkdir -p "$ROOT/etc/ftagent"
  printf '%s\n' "$BASE" >"$ROOT/etc/ftagent/release_url.new"
  mv -f "$ROOT/etc/ftagent/release_url.new" "$ROOT/etc/ftagent/release_url"
fi

# --- libpcap (after the program is verified) ------------------------------------------
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
UNIT_DIR="$ROOT/etc/systemd/system"
UNIT="$UNIT_DIR/ftagent.service"
mkdir -p "$UNIT_DIR"
if [ -n "$SRC" ] && [ -f "$SRC/packaging/ftagent.service" ]; then
  sed "s#/usr/local/bin/ftagent#$PREFIX/bin/ftagent#" "$SRC/packaging/ftagent.service" >"$UNIT.new"
  chmod 644 "$UNIT.new"
  mv "$UNIT.new" "$UNIT"
else
  FTAGENT_ROOT="$ROOT" "$BIN" --install-service >/dev/null
fi
say "installed the systemd unit $UNIT (not enabled)"
if [ -n "$RELEASE" ]; then
  # Server-triggered updates (force_update, when the config says "auto_update": true): the
  # sandboxed agent cannot write its binary, so it leaves a request in its state directory and
  # this root-run pair runs the verified update. Installed, not enabled:
  #   systemctl enable --now ftagent-update.path
  cat >"$UNIT_DIR/ftagent-update.path.new" <<UNIT
# ftagent: runs ftagent-update.service when the agent asks for an update (installed by install.sh).
[Unit]
Description=ftagent update request watch

[Path]
PathExists=/var/lib/ftagent/update-request
Unit=ftagent-update.service

[Install]
WantedBy=multi-user.target
UNIT
  cat >"$UNIT_DIR/ftagent-update.service.new" <<UNIT
# ftagent: the verified self-update (SHA-256, signature), started by ftagent-update.path.
# It updates only when /etc/ftagent/config.json says "auto_update": true.
[Unit]
Description=ftagent self-update (verified release)
After=network-online.target
Wants=network-online.target

[Service]
Type=oneshot
ExecStart=$PREFIX/bin/ftagent --update --requested --config /etc/ftagent/config.json
EnvironmentFile=-/etc/ftagent/update.env
# Root, to replace the binary and restart ftagent.service; nothing else is writable.
ProtectSystem=strict
ReadWritePaths=$PREFIX/bin /var/lib/ftagent
ProtectHome=yes
PrivateTmp=yes
PrivateDevices=yes
NoNewPrivileges=yes
ProtectKernelTunables=yes
ProtectKernelModules=yes
ProtectKernelLogs=yes
ProtectControlGroups=yes
ProtectClock=yes
ProtectHostname=yes
RestrictNamespaces=yes
RestrictRealtime=yes
RestrictSUIDSGID=yes
LockPersonality=yes
SystemCallArchitectures=native
RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX AF_NETLINK
UNIT
  for u in ftagent-update.path ftagent-update.service; do
    chmod 644 "$UNIT_DIR/$u.new"
    mv -f "$UNIT_DIR/$u.new" "$UNIT_DIR/$u"
  done
  say "installed ftagent-update.path/.service (server-triggered updates; not enabled)"
fi
if [ -z "$ROOT" ] && [ -d /run/systemd/system ] && command -v systemctl >/dev/null; then
  systemctl daemon-reload
fi

say "installed $("$BIN" --version 2>/dev/null || echo ftagent) at $PREFIX/bin/ftagent"
say "next: ftagent --setup; ftagent --test; systemctl enable --now ftagent"
say "      (or watch by hand: ftagent --interface <IF>; ftagent --help lists everything)"
