#!/usr/bin/env bash
# One-shot set-up for a fresh Debian 12 machine, run as root.
# Idempotent: a second run only checks that everything is in place.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${NNFV_VENV:-$ROOT/.venv}"
STAMP="$VENV/.setup-stamp"

APT_PACKAGES=(
  libyang2-dev libyang-tools          # libyang C library + yanglint
  python3 python3-venv python3-dev gcc libffi-dev pkg-config
  iproute2 nftables iputils-ping iputils-arping procps util-linux
  dnsmasq-base                        # the dhcp-server NNF
  strongswan-swanctl charon-systemd   # the ipsec NNF
  busybox                             # udhcpc: the DHCP client of the tests
  iperf3                              # chain throughput benchmark
  openssh-client                      # scrapli's system transport in the tests
  python3-apt                         # the agent role's apt tasks (ansible on /usr/bin/python3)
)

need_apt=()
for p in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || need_apt+=("$p")
done
if ((${#need_apt[@]})); then
  echo "setup: installing Debian packages: ${need_apt[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need_apt[@]}"
fi

hash_inputs() {
  cat "$ROOT/agent/pyproject.toml" "$ROOT/requirements-dev.txt" 2>/dev/null | sha256sum | cut -d' ' -f1
}

# A venv whose creation was interrupted has python but no pip: create it anew.
if [[ ! -x "$VENV/bin/python" || ! -x "$VENV/bin/pip" ]]; then
  echo "setup: creating virtual environment $VENV"
  python3 -m venv --clear "$VENV"
  rm -f "$STAMP"
fi
if [[ ! -f "$STAMP" ]] || [[ "$(cat "$STAMP")" != "$(hash_inputs)" ]]; then
  echo "setup: installing Python packages"
  "$VENV/bin/pip" install -q --upgrade pip
  "$VENV/bin/pip" install -q -r "$ROOT/requirements-dev.txt"
  "$VENV/bin/pip" install -q -e "$ROOT/agent"
  hash_inputs > "$STAMP"
fi
