# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# shellcheck shell=bash
#
# Sourced by bench/l7.sh and bench/auth_reread.sh: the origin they put
# behind the proxies, nginx answering every request with a fixed 2-byte
# body, one worker, no access log; under /comp/ it serves the files of
# DIR/www/comp/ (application/json for .json: the compression case).

# origin_conf FILE DIR ADDR [TLS_ADDR CERT KEY]: nginx's config for an
# origin on ADDR (host:port), its pid and error log in DIR; with TLS_ADDR it
# also answers over TLS there with CERT and KEY (upstream TLS cases).
origin_conf() {
	local tls=""
	[ -z "${4:-}" ] || tls="listen $4 ssl reuseport backlog=4096;
		ssl_certificate $5;
		ssl_certificate_key $6;
		ssl_protocols TLSv1.2 TLSv1.3;"

	cat >"$1" <<ORIGIN_EOF
worker_processes 1;
pid $2/origin.pid;
error_log $2/origin.err;
events { worker_connections 4096; }
http {
	access_log off;
	keepalive_requests 1000000;
	server {
		listen $3 reuseport backlog=4096;
		$tls
		location / { return 200 "ok"; }
		location /comp/ {
			root $2/www;
			types { application/json json; }
		}
	}
}
ORIGIN_EOF
}
