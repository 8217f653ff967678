#!/usr/bin/env bash
# The local gateway's system packages: nginx and its headers-more module (for the wildcard strip
# of client-supplied X-Gateway-*/X-Auth-* headers). Installed with apt-get when missing
# (as root, or through sudo); otherwise prints what to install.
source "$(dirname "$0")/lib.sh"

NGINX_MODULE=/usr/lib/nginx/modules/ngx_http_headers_more_filter_module.so
if command -v nginx >/dev/null && [ -f "$NGINX_MODULE" ]; then
  exit 0
fi
packages="nginx libnginx-mod-http-headers-more-filter"
if command -v apt-get >/dev/null; then
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  say "installing the gateway's packages: $packages"
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -q $packages >/dev/null \
    || { $SUDO apt-get update -q >/dev/null && $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -q $packages >/dev/null; }
  # The Debian package may start a system nginx on :80; the platform runs its own.
  command -v nginx >/dev/null && [ -f "$NGINX_MODULE" ] && exit 0
fi
die "the gateway needs nginx with the headers-more module: install $packages (Debian/Ubuntu names)"
