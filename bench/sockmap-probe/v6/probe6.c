// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* v6 and dual-stack: client -> gw (listener on ::, v6 or v4-mapped) ... gw -> backend */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "probe6.skel.h"

struct key6 { __u32 family, lport, rport, pad; __u32 laddr[4], raddr[4]; };
static struct probe6_bpf *skel;

static struct key6 key_of(int fd)
{
	struct sockaddr_storage l, r;
	socklen_t n = sizeof(l);
	struct key6 k = { 0 };

	getsockname(fd, (void *)&l, &n);
	n = sizeof(r);
	getpeername(fd, (void *)&r, &n);
	k.family = l.ss_family;
	if (l.ss_family == AF_INET6) {
		struct sockaddr_in6 *a = (void *)&l, *b = (void *)&r;
		memcpy(k.laddr, &a->sin6_addr, 16);
		memcpy(k.raddr, &b->sin6_addr, 16);
		k.lport = ntohs(a->sin6_port);
		k.rport = ntohs(b->sin6_port);
	} else {
		struct sockaddr_in *a = (void *)&l, *b = (void *)&r;
		k.laddr[0] = a->sin_addr.s_addr;
		k.raddr[0] = b->sin_addr.s_addr;
		k.lport = ntohs(a->sin_port);
		k.rport = ntohs(b->sin_port);
	}
	return k;
}

static int lsn(int fam, const char *addr, int port)
{
	struct sockaddr_storage ss = { 0 };
	int fd = socket(fam, SOCK_STREAM, 0), one = 1, zero = 0;
	socklen_t len;

	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (fam == AF_INET6) {
		struct sockaddr_in6 *a = (void *)&ss;
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero));
		a->sin6_family = AF_INET6;
		a->sin6_port = htons(port);
		inet_pton(AF_INET6, addr, &a->sin6_addr);
		len = sizeof(*a);
	} else {
		struct sockaddr_in *a = (void *)&ss;
		a->sin_family = AF_INET;
		a->sin_port = htons(port);
		inet_pton(AF_INET, addr, &a->sin_addr);
		len = sizeof(*a);
	}
	if (bind(fd, (void *)&ss, len) || listen(fd, 4)) {
		perror("listen");
		exit(1);
	}
	return fd;
}

static int con(int fam, const char *addr, int port)
{
	struct sockaddr_storage ss = { 0 };
	int fd = socket(fam, SOCK_STREAM, 0);
	socklen_t len;

	if (fam == AF_INET6) {
		struct sockaddr_in6 *a = (void *)&ss;
		a->sin6_family = AF_INET6;
		a->sin6_port = htons(port);
		inet_pton(AF_INET6, addr, &a->sin6_addr);
		len = sizeof(*a);
	} else {
		struct sockaddr_in *a = (void *)&ss;
		a->sin_family = AF_INET;
		a->sin_port = htons(port);
		inet_pton(AF_INET, addr, &a->sin_addr);
		len = sizeof(*a);
	}
	if (connect(fd, (void *)&ss, len)) {
		perror("connect");
		exit(1);
	}
	return fd;
}

static int rd(int fd, char *buf, int n)
{
	struct pollfd p = { fd, POLLIN };

	if (poll(&p, 1, 1000) <= 0)
		return -2;
	return recv(fd, buf, n, MSG_DONTWAIT);
}

static void one(const char *name, int cfam, const char *caddr, int bfam, const char *baddr, int port)
{
	int gl = lsn(AF_INET6, "::", port), bl = lsn(bfam, baddr, port + 1);
	int cl = con(cfam, caddr, port), c = accept(gl, NULL, NULL);
	int b = con(bfam, baddr, port + 1), be = accept(bl, NULL, NULL);
	int hfd = bpf_map__fd(skel->maps.sk6), pfd = bpf_map__fd(skel->maps.peer6);
	struct key6 kc = key_of(c), kb = key_of(b);
	__u64 v;
	char buf[32] = "";
	int n1, n2;

	bpf_map_update_elem(pfd, &kc, &kb, BPF_ANY);
	bpf_map_update_elem(pfd, &kb, &kc, BPF_ANY);
	v = b;
	bpf_map_update_elem(hfd, &kb, &v, BPF_NOEXIST);
	v = c;
	bpf_map_update_elem(hfd, &kc, &v, BPF_NOEXIST);
	send(cl, "up", 2, 0);
	n1 = rd(be, buf, sizeof(buf));
	send(be, "down", 4, 0);
	n2 = rd(cl, buf, sizeof(buf));
	printf("%s %s: gw client-side socket family %s; up %d bytes, down %d bytes\n",
	       n1 == 2 && n2 == 4 ? "PASS" : "FAIL", name, kc.family == AF_INET6 ? "AF_INET6" : "AF_INET", n1, n2);
	close(cl); close(c); close(b); close(be); close(gl); close(bl);
}

int main(void)
{
	skel = probe6_bpf__open_and_load();
	if (!skel)
		return 1;
	int pfd = bpf_program__fd(skel->progs.parse6), vfd = bpf_program__fd(skel->progs.verdict6);
	int mfd = bpf_map__fd(skel->maps.sk6);
	if (bpf_prog_attach(pfd, mfd, BPF_SK_SKB_STREAM_PARSER, 0) || bpf_prog_attach(vfd, mfd, BPF_SK_SKB_STREAM_VERDICT, 0)) {
		perror("attach");
		return 1;
	}
	one("v6 client -> [::] listener, v6 backend", AF_INET6, "::1", AF_INET6, "::1", 32000);
	one("v4 client -> dual-stack [::] listener (v4-mapped), v4 backend", AF_INET, "127.0.0.1", AF_INET, "127.0.0.1", 32010);
	one("v6 client -> [::] listener, v4 backend", AF_INET6, "::1", AF_INET, "127.0.0.1", 32020);
	for (__u32 i = 0; i < 3; i++) {
		__u64 x = 0;
		bpf_map_lookup_elem(bpf_map__fd(skel->maps.cnt6), &i, &x);
		printf("counter %s: %llu\n", i == 0 ? "redirected" : i == 1 ? "no peer" : "redirect failed", (unsigned long long)x);
	}
	probe6_bpf__destroy(skel);
	return 0;
}
