#!/usr/bin/env bash
# The documented check that a commissioner's HTML report renders with visible charts:
# builds a small discussion in the console, writes `parley report --format html`, and
# screenshots it in headless Chromium. Chromium is installed from Debian's `chromium` package
# when it is missing (apt-get, as root or through sudo); elsewhere install Chromium or Google
# Chrome yourself, or point PARLEY_CHROMIUM at its binary.
# The participants also answer the bundled survey and the organisation answers back, so the
# page shows survey results, what the organisation said back and the participation metrics.
# Usage: scripts/screenshot-report.sh [OUT.png] [OUT.html]
set -euo pipefail
cd "$(dirname "$0")/.."
out="${1:-target/report.png}"
html_out="${2:-}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
find_chromium() {
  for c in "${PARLEY_CHROMIUM:-}" chromium chromium-browser google-chrome; do
    if [ -n "$c" ] && command -v "$c" >/dev/null; then command -v "$c"; return; fi
  done
}
chromium="$(find_chromium || true)"
if [ -z "$chromium" ]; then
  if command -v apt-get >/dev/null; then
    echo "screenshot-report.sh: installing Chromium (apt-get install -y chromium)" >&2
    sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    $sudo apt-get update -qq >&2
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq chromium >&2
    chromium="$(find_chromium || true)"
  fi
  [ -n "$chromium" ] || {
    echo "screenshot-report.sh: Chromium is needed: install it (Debian/Ubuntu: apt-get install -y chromium;" \
      "macOS: brew install --cask chromium) or set PARLEY_CHROMIUM to a Chromium or Chrome binary" >&2
    exit 1
  }
fi
cargo build -q
parley=${CARGO_TARGET_DIR:-target}/debug/parley

{
  i=0
  while IFS= read -r line; do
    i=$((i + 1))
    echo "p$i: !join gp-access"
    echo "p$i: $line"
    # The first post brings the survey invitation: single, multiple, scale, free text.
    echo "p$i: !survey"
    echo "p$i: $(( i % 3 + 1 ))"
    echo "p$i: $(( i % 2 + 1 )),3"
    echo "p$i: $(( i % 5 + 1 ))"
    echo "p$i: More appointments in the evening and a shorter phone queue"
  done <<'POSTS'
Waited three weeks for a GP appointment, the phone queue at 8am is hopeless
Could not get an appointment for my son, had to go to A&E instead
The receptionist was rude and dismissive when I asked for a callback
Waited ages on hold then got cut off, no appointments left by 8.15
Appointments are impossible to get, I gave up after a week of trying
The nurse was lovely and explained everything, couldn't fault her
Parking at the surgery costs a fortune and the bus only runs hourly
The online booking form closes at 9am and the NHS App never shows slots
My repeat prescription went missing between the surgery and the pharmacy
Reception were kind and got me a same-day call back from the GP
POSTS
  echo "comm1: !respond gp-access#1 Thank you, we have asked the practice to add online booking at 8am"
  echo "comm1: !update gp-access You said the 8am phone queue was too long: from January the practice takes calls from 7am"
} | "$parley" --data-dir "$work" console >/dev/null
"$parley" --data-dir "$work" report --discussion gp-access --format html --output "$work/report.html"
"$chromium" --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
  --disable-background-networking --disable-component-update --disable-sync \
  --user-data-dir="$work/chrome" --window-size=1200,4600 --screenshot="$out" "file://$work/report.html" 2>/dev/null
[ -z "$html_out" ] || cp "$work/report.html" "$html_out"
echo "screenshot: $out"
