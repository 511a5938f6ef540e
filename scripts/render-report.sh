#!/bin/sh
# Renders gatelog's report.html to a PNG with headless Chromium (Debian's `chromium` package),
# offline: the report makes no network reference, and Chromium's own background traffic is
# switched off.
#
#   scripts/render-report.sh out/report.html report.png [WIDTHxHEIGHT]
#
# The window defaults to 1280x2000 (CSS pixels); the screenshot is that size. Set CHROMIUM to
# use another binary.
set -eu

if [ $# -lt 2 ] || [ $# -gt 3 ]; then
    echo "usage: $0 REPORT_HTML OUT_PNG [WIDTHxHEIGHT]" >&2
    exit 2
fi
html=$1
png=$2
size=${3:-1280x2000}
case $size in
    *x*) ;;
    *) echo "$0: size must look like 1280x2000" >&2; exit 2 ;;
esac
width=${size%x*}
height=${size#*x}

[ -f "$html" ] || { echo "$0: no such file: $html" >&2; exit 1; }
chromium=${CHROMIUM:-$(command -v chromium || command -v chromium-browser || true)}
if [ -z "$chromium" ]; then
    echo "$0: chromium not found (Debian/Ubuntu: apt-get install -y chromium)" >&2
    exit 1
fi

abs_html=$(cd "$(dirname "$html")" && pwd)/$(basename "$html")
case $png in
    /*) abs_png=$png ;;
    *) abs_png=$(pwd)/$png ;;
esac
profile=$(mktemp -d)
trap 'rm -rf "$profile"' EXIT INT TERM

"$chromium" --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
    --disable-background-networking --disable-component-update --disable-sync \
    --disable-extensions --hide-scrollbars --force-device-scale-factor=1 \
    --user-data-dir="$profile" --screenshot="$abs_png" --window-size="$width,$height" \
    "file://$abs_html" >/dev/null 2>"$profile/chromium.log" || {
    cat "$profile/chromium.log" >&2
    exit 1
}
[ -s "$abs_png" ] || { cat "$profile/chromium.log" >&2; echo "$0: no screenshot written" >&2; exit 1; }
echo "$abs_png"
