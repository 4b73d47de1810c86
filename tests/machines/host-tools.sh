#!/bin/sh
# What the harness needs on the host, installed when missing: QEMU (from bookworm-backports on
# Debian 12, to sit beside its qemu-utils 10.0), debootstrap and e2fsprogs to build the images.
set -eu
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO=sudo
missing=""
command -v qemu-system-x86_64 >/dev/null || missing="$missing qemu-system-x86"
command -v qemu-img >/dev/null || missing="$missing qemu-utils"
[ -x /usr/sbin/debootstrap ] || missing="$missing debootstrap"
[ -x /usr/sbin/mke2fs ] || [ -x /sbin/mke2fs ] || missing="$missing e2fsprogs"
[ -z "$missing" ] && exit 0
. /etc/os-release
if [ "${VERSION_CODENAME:-}" = bookworm ]; then
    if ! grep -rqs bookworm-backports /etc/apt/sources.list /etc/apt/sources.list.d/; then
        echo "machines: adding bookworm-backports for QEMU 10"
        printf 'Types: deb\nURIs: http://deb.debian.org/debian\nSuites: bookworm-backports\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n' \
            | $SUDO tee /etc/apt/sources.list.d/bookworm-backports.sources >/dev/null
    fi
    $SUDO apt-get update -qq
    # shellcheck disable=SC2086
    $SUDO apt-get install -y -qq -t bookworm-backports $missing
elif command -v apt-get >/dev/null; then
    $SUDO apt-get update -qq
    # shellcheck disable=SC2086
    $SUDO apt-get install -y -qq $missing
else
    echo "machines: install$missing (QEMU for x86-64, debootstrap, e2fsprogs) and run again" >&2
    exit 1
fi
