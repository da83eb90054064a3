#!/usr/bin/env bash
# Installs what the local kernel lab (`cilium-lab local`, cluster="local") needs on Debian or Ubuntu:
# iproute2, iptables, ethtool, netperf, iperf3, clang/llvm and the libbpf headers (the tc BPF program
# is compiled at set-up from cilium_lab/locallab/bpf/). netperf is in Debian's non-free component
# (bookworm; main from trixie on): with --enable-non-free this script adds that component to the apt
# sources, otherwise it says how and installs the rest. Run as root. Idempotent.
set -euo pipefail

PACKAGES=(iproute2 iptables ethtool kmod iperf3 clang llvm libbpf-dev netperf)
enable_non_free=false
for arg in "$@"; do
  case "$arg" in
    --enable-non-free) enable_non_free=true ;;
    -h|--help) sed -n '2,6s/^# //p' "$0"; echo "usage: $0 [--enable-non-free]"; exit 0 ;;
    *) echo "unknown option $arg: use --enable-non-free or --help" >&2; exit 2 ;;
  esac
done

if [ "$(id -u)" != 0 ]; then
  echo "setup-local-lab needs root (it installs Debian packages): run it with sudo" >&2; exit 2
fi
if ! command -v apt-get >/dev/null; then
  echo "setup-local-lab knows Debian and Ubuntu (apt-get); install these yourself: ${PACKAGES[*]}" >&2; exit 2
fi
export DEBIAN_FRONTEND=noninteractive

has_non_free() { grep -rqsE "non-free|multiverse" /etc/apt/sources.list /etc/apt/sources.list.d/; }
distro=$(. /etc/os-release && echo "${ID:-debian}")
if $enable_non_free && ! has_non_free; then
  if [ "$distro" = ubuntu ]; then
    echo "enabling Ubuntu's multiverse component (netperf lives there)"
    add-apt-repository -y multiverse >/dev/null || { echo "run: add-apt-repository multiverse" >&2; exit 2; }
  elif [ -f /etc/apt/sources.list.d/debian.sources ]; then
    echo "adding contrib non-free to /etc/apt/sources.list.d/debian.sources (netperf lives there)"
    sed -i 's/^Components: main.*/Components: main contrib non-free non-free-firmware/' /etc/apt/sources.list.d/debian.sources
  else
    codename=$(. /etc/os-release && echo "${VERSION_CODENAME:-bookworm}")
    echo "adding /etc/apt/sources.list.d/non-free.list for $codename (netperf lives there)"
    echo "deb http://deb.debian.org/debian $codename main contrib non-free" > /etc/apt/sources.list.d/non-free.list
  fi
fi
apt-get update -qq || echo "warning: apt-get update failed; trying the packages apt already knows"

missing=()
for pkg in "${PACKAGES[@]}"; do
  if ! apt-cache show "$pkg" >/dev/null 2>&1; then missing+=("$pkg"); fi
done
available=()
for pkg in "${PACKAGES[@]}"; do
  [[ " ${missing[*]} " == *" $pkg "* ]] || available+=("$pkg")
done
apt-get install -y -qq --no-install-recommends "${available[@]}" >/dev/null
echo "installed: ${available[*]}"
if [ ${#missing[@]} -gt 0 ]; then
  echo "not available from your apt sources: ${missing[*]}" >&2
  if [[ " ${missing[*]} " == *" netperf "* ]]; then
    echo "netperf is in Debian's non-free (Ubuntu's multiverse) component: rerun with --enable-non-free" >&2
  fi
  exit 1
fi
