# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#
# Sourced by bench/l7.sh and bench/auth_reread.sh: the origin they put
# behind the proxies, nginx answering every request with a fixed 2-byte
# body, one worker, no access log.

# origin_conf FILE DIR ADDR: nginx's config for an origin on ADDR
# (host:port), its pid and error log in DIR.
origin_conf() {
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
		location / { return 200 "ok"; }
	}
}
ORIGIN_EOF
}
