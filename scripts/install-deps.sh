#!/bin/bash
# Installs what the lab and the drills need on Debian 12, as root. Idempotent; quick when all is there.
set -euo pipefail
need=()
command -v mariadbd >/dev/null || [ -x /usr/sbin/mariadbd ] || need+=(mariadb-server)
command -v mariadb >/dev/null || need+=(mariadb-client)
# rejoin: mariadb-backup --stream on the new master, mbstream + --prepare on the node it rebuilds.
command -v mariadb-backup >/dev/null && command -v mbstream >/dev/null || need+=(mariadb-backup)
[ -x /usr/sbin/keepalived ] || need+=(keepalived)
[ -x /usr/sbin/sshd ] || need+=(openssh-server)
command -v ssh >/dev/null || need+=(openssh-client)
command -v ssh-keygen >/dev/null || need+=(openssh-client)
command -v ip >/dev/null && command -v tc >/dev/null || need+=(iproute2)
command -v nsenter >/dev/null && command -v unshare >/dev/null || need+=(util-linux)
command -v ps >/dev/null || need+=(procps)
# The switchover test carries each MariaDB port into the keepalived namespace with socat.
command -v socat >/dev/null || need+=(socat)
# promtool (tests check the metrics and run the alert rules with it); Debian ships it in the prometheus package.
command -v promtool >/dev/null || need+=(prometheus)
if [ ${#need[@]} -eq 0 ]; then
  echo "install-deps: all present"
  exit 0
fi
if [ "$(id -u)" != 0 ]; then
  echo "install-deps: need root to install: ${need[*]}" >&2
  exit 1
fi
# Keep Debian's maintainer scripts from starting mysqld/sshd/keepalived on the machine itself.
created_policy=0
if [ ! -e /usr/sbin/policy-rc.d ]; then
  printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
  chmod 755 /usr/sbin/policy-rc.d
  created_policy=1
fi
trap '[ $created_policy = 1 ] && rm -f /usr/sbin/policy-rc.d' EXIT
export DEBIAN_FRONTEND=noninteractive
echo "install-deps: apt-get install ${need[*]}"
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${need[@]}"
