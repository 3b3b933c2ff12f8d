#!/usr/bin/env bash
# Makes sure the servers the integration tests talk to are installed, running
# on loopback and answering: PostgreSQL (127.0.0.1:5432, trust auth for the
# postgres user), MariaDB (127.0.0.1:3306, root with an empty password) and
# Redis (127.0.0.1:6379). Installs missing ones from Debian's packages (needs
# root), starts stopped ones, then waits until each answers.
#
# MongoDB is not handled here: the tests start FerretDB in-process unless
# MONGODB_URI points at a server.
#
# Idempotent and quick when everything already runs. This is a test
# environment: on a fresh install it opens loopback-only, password-less
# access; never run it on a machine whose databases matter.
set -euo pipefail

log() { printf 'services.sh: %s\n' "$*" >&2; }
die() { log "$*"; exit 1; }

as_root() {
	if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo -n "$@"; fi
}

wait_for() { # name, command...
	local name=$1; shift
	for _ in $(seq 1 120); do
		if "$@" >/dev/null 2>&1; then return 0; fi
		sleep 0.5
	done
	die "$name did not answer within 60s"
}

# --- install what is missing -------------------------------------------------
missing=()
command -v pg_ctlcluster >/dev/null 2>&1 || missing+=(postgresql)
[ -x /usr/sbin/mariadbd ] || missing+=(mariadb-server)
command -v redis-server >/dev/null 2>&1 || missing+=(redis-server)
# go test -race needs cgo, hence a C compiler.
command -v gcc >/dev/null 2>&1 || missing+=(gcc libc6-dev)
if [ ${#missing[@]} -gt 0 ]; then
	log "installing ${missing[*]} from Debian's packages"
	export DEBIAN_FRONTEND=noninteractive
	# No service manager runs in containers; keep package scripts from trying.
	if [ ! -e /usr/sbin/policy-rc.d ]; then
		printf '#!/bin/sh\nexit 101\n' | as_root tee /usr/sbin/policy-rc.d >/dev/null
		as_root chmod +x /usr/sbin/policy-rc.d
		trap 'as_root rm -f /usr/sbin/policy-rc.d' EXIT
	fi
	as_root apt-get update -qq
	as_root apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# --- PostgreSQL ---------------------------------------------------------------
pg_ready() { pg_isready -q -h 127.0.0.1 -p 5432; }
if ! pg_ready; then
	version=$(ls /etc/postgresql | sort -V | tail -n 1)
	[ -n "$version" ] || die "no PostgreSQL cluster under /etc/postgresql"
	log "starting PostgreSQL $version"
	as_root pg_ctlcluster --skip-systemctl-redirect "$version" main start || true
	wait_for PostgreSQL pg_ready
fi
if ! psql -w -h 127.0.0.1 -U postgres -d postgres -tAc 'SELECT 1' >/dev/null 2>&1; then
	# A fresh Debian cluster asks loopback TCP clients for a password.
	version=$(ls /etc/postgresql | sort -V | tail -n 1)
	hba=/etc/postgresql/$version/main/pg_hba.conf
	log "allowing password-less loopback access in $hba (test environment)"
	as_root sed -i '1i host all all 127.0.0.1/32 trust\nhost all all ::1/128 trust' "$hba"
	as_root pg_ctlcluster --skip-systemctl-redirect "$version" main reload
	wait_for "PostgreSQL (trust auth)" psql -w -h 127.0.0.1 -U postgres -d postgres -tAc 'SELECT 1'
fi

# --- MariaDB -------------------------------------------------------------------
maria_ready() { mariadb-admin --protocol=tcp -h 127.0.0.1 -P 3306 -u root ping; }
maria_up() { mariadb-admin ping || maria_ready; }
if ! maria_up >/dev/null 2>&1; then
	log "starting MariaDB"
	as_root install -d -o mysql -g mysql /run/mysqld
	# mariadbd refuses to run as root unless told which user to become.
	as_root start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd -- --user=mysql
	wait_for MariaDB maria_up
fi
if ! mariadb --protocol=tcp -h 127.0.0.1 -u root -e 'SELECT 1' >/dev/null 2>&1; then
	# A fresh Debian install lets root in only through the unix socket.
	log "allowing root with an empty password on loopback (test environment)"
	as_root mariadb -u root -e "ALTER USER 'root'@'localhost' IDENTIFIED VIA unix_socket OR mysql_native_password USING PASSWORD('');
		CREATE USER IF NOT EXISTS 'root'@'127.0.0.1' IDENTIFIED BY '';
		GRANT ALL PRIVILEGES ON *.* TO 'root'@'127.0.0.1' WITH GRANT OPTION;
		FLUSH PRIVILEGES;"
	wait_for "MariaDB (root over TCP)" mariadb --protocol=tcp -h 127.0.0.1 -u root -e 'SELECT 1'
fi

# --- Redis ---------------------------------------------------------------------
redis_ready() { [ "$(redis-cli -h 127.0.0.1 -p 6379 ping 2>/dev/null)" = PONG ]; }
if ! redis_ready; then
	log "starting Redis"
	as_root install -d /var/lib/redis /var/log/redis
	as_root redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" \
		--appendonly no --dir /var/lib/redis --logfile /var/log/redis/ci.log
	wait_for Redis redis_ready
fi

log "PostgreSQL, MariaDB and Redis are answering on loopback"
