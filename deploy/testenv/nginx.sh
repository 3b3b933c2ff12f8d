#!/usr/bin/env bash
# Makes sure nginx and htpasswd (apache2-utils) are installed, for the tests
# of the web-service connector (connectors/webauth), which start their own
# nginx as the current user on 127.0.0.1 with a temporary prefix, pid file
# and error log, and stop it when they end. Nothing is started here and the
# system's nginx service is left alone.
#
# Installs the missing packages from Debian's (needs root or password-less
# sudo); exits non-zero with a message saying what to install when it cannot.
# Idempotent: quick and silent when everything is installed. Prints the path
# of the nginx binary on stdout.
set -euo pipefail

log() { printf 'nginx.sh: %s\n' "$*" >&2; }
die() { log "$*"; exit 1; }

find_nginx() {
	for p in "$(command -v nginx 2>/dev/null || true)" /usr/sbin/nginx /usr/local/sbin/nginx; do
		if [ -n "$p" ] && [ -x "$p" ]; then printf '%s\n' "$p"; return 0; fi
	done
	return 1
}

as_root() {
	if [ "$(id -u)" -eq 0 ]; then
		"$@"
	elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
		sudo -n "$@"
	else
		return 1
	fi
}

missing=()
find_nginx >/dev/null || missing+=(nginx)
command -v htpasswd >/dev/null 2>&1 || missing+=(apache2-utils)

if [ ${#missing[@]} -gt 0 ]; then
	as_root true || die "missing ${missing[*]}; cannot install without root or password-less sudo: run 'apt-get install -y nginx-light apache2-utils' as root"
	command -v apt-get >/dev/null 2>&1 || die "missing ${missing[*]} and no apt-get here: install nginx and htpasswd (apache2-utils) by hand"
	export DEBIAN_FRONTEND=noninteractive
	# No service manager runs in containers, and the tests start their own
	# nginx: keep package scripts from starting the system one.
	if [ ! -e /usr/sbin/policy-rc.d ]; then
		printf '#!/bin/sh\nexit 101\n' | as_root tee /usr/sbin/policy-rc.d >/dev/null
		as_root chmod +x /usr/sbin/policy-rc.d
		trap 'as_root rm -f /usr/sbin/policy-rc.d' EXIT
	fi
	pkgs=()
	for m in "${missing[@]}"; do
		case $m in
		nginx)
			# nginx-light (auth_basic included) where Debian still ships it.
			if apt-cache show nginx-light >/dev/null 2>&1; then pkgs+=(nginx-light); else pkgs+=(nginx); fi ;;
		*) pkgs+=("$m") ;;
		esac
	done
	log "installing ${pkgs[*]} from Debian's packages"
	as_root apt-get update -qq || die "apt-get update failed"
	if ! as_root apt-get install -y -qq --no-install-recommends "${pkgs[@]}" >/dev/null; then
		# nginx-light may be gone from the package lists after the update.
		pkgs=("${pkgs[@]/nginx-light/nginx}")
		as_root apt-get install -y -qq --no-install-recommends "${pkgs[@]}" >/dev/null ||
			die "apt-get install ${pkgs[*]} failed"
	fi
fi

nginx=$(find_nginx) || die "nginx is still not installed"
command -v htpasswd >/dev/null 2>&1 || die "htpasswd is still not installed"
"$nginx" -v >/dev/null 2>&1 || die "$nginx does not run"
printf '%s\n' "$nginx"
