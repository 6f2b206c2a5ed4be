#!/bin/sh
# Print the path of a promtool binary, installing Debian's `prometheus` package (which
# ships it) when none is found and we may: the alert-rule tests use it and never skip.
# Order: $PROMTOOL, promtool on PATH, then apt-get (as root, or with passwordless sudo).
set -eu
if [ -n "${PROMTOOL:-}" ] && [ -x "$PROMTOOL" ]; then echo "$PROMTOOL"; exit 0; fi
if command -v promtool >/dev/null 2>&1; then command -v promtool; exit 0; fi
if command -v apt-get >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ]; then SUDO=""; elif sudo -n true 2>/dev/null; then SUDO="sudo -n"; else SUDO=none; fi
  if [ "$SUDO" != none ]; then
    echo "promtool not found: installing Debian's prometheus package" >&2
    $SUDO apt-get install -y --no-install-recommends prometheus >&2 \
      || { $SUDO apt-get update >&2 && $SUDO apt-get install -y --no-install-recommends prometheus >&2; }
    if command -v promtool >/dev/null 2>&1; then command -v promtool; exit 0; fi
  fi
fi
echo "promtool not found and not installable here: install the prometheus package (Debian/Ubuntu:" \
  "apt-get install prometheus) or set PROMTOOL=/path/to/promtool" >&2
exit 1
