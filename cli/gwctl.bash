# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# bash completion for gwctl: source it, or install it as
# /usr/share/bash-completion/completions/gwctl. Commands and options, and
# the live names of services, upstreams, backends and servers, asked from
# gwd (`gwctl --json service list`, `upstream list`) when it answers;
# nothing when it does not.

# _gwctl_names WHAT [PARENT] -- GWCTL ARGS...: the names WHAT (service,
# upstream, or backend or server of PARENT) that gwctl (with the socket
# and pin root of the line) gets from gwd, one a line.
_gwctl_names() {
	local what=$1 parent=$2 cmd
	shift 3
	case $what in
	service | backend) cmd="service list" ;;
	*) cmd="upstream list" ;;
	esac
	# shellcheck disable=SC2086
	timeout 2 "$@" --json $cmd 2>/dev/null | awk -F'"' -v what="$what" -v parent="$parent" '
		/^    "name": / { cur = $4; if (what ~ /^(service|upstream)$/ && cur != "") print cur }
		/^        "address": / { if (what ~ /^(backend|server)$/ && cur == parent) print $4 }'
}

_gwctl() {
	local cur prev cwords=() cword words=() ctl=() w i n
	if declare -F _get_comp_words_by_ref >/dev/null; then
		_get_comp_words_by_ref -n : cur prev cwords cword
	else
		cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD - 1]}
		cwords=("${COMP_WORDS[@]}") cword=$COMP_CWORD
	fi
	ctl=("${cwords[0]}")
	for ((i = 1; i < cword; i++)); do
		w=${cwords[i]}
		case $w in
		-s | --socket | --pin-root) ctl+=("$w" "${cwords[i + 1]}"); ((i++)) ;;
		--ttl | --weight | --rate | --burst | --service | --limit | --count) ((i++)) ;;
		-*) ;;
		*) words+=("$w") ;;
		esac
	done
	case $prev in
	-s | --socket | --pin-root) COMPREPLY=($(compgen -f -- "$cur")); return ;;
	--service) w=$(_gwctl_names service "" -- "${ctl[@]}") ;;
	--ttl | --weight | --rate | --burst | --limit | --count) return ;;
	*) w="" ;;
	esac
	if [[ $prev != --service && $cur == -* ]]; then
		COMPREPLY=($(compgen -W "--socket --pin-root --json --quiet --version --help --ttl
			--weight --rate --burst --service --limit --watch --count --all" -- "$cur"))
		return
	fi
	n=${#words[@]}
	[[ $prev == --service ]] || case "${words[*]}" in
	"") w="status stats filter ratelimit service backend upstream conntrack route splice reload check" ;;
	filter) w="list deny allow" ;;
	"filter deny" | "filter allow") w="add del" ;;
	ratelimit) w="show set" ;;
	"ratelimit set") w="packets syn" ;;
	service | conntrack | route | splice) w="list" ;;
	backend) w="add del drain" ;;
	"backend add" | "backend del" | "backend drain") w=$(_gwctl_names service "" -- "${ctl[@]}") ;;
	"backend del "* | "backend drain "*)
		((n == 3)) && w=$(_gwctl_names backend "${words[2]}" -- "${ctl[@]}") ;;
	upstream) w="list server" ;;
	"upstream server") w="add del drain" ;;
	"upstream server add" | "upstream server del" | "upstream server drain")
		w=$(_gwctl_names upstream "" -- "${ctl[@]}") ;;
	"upstream server del "* | "upstream server drain "*)
		((n == 4)) && w=$(_gwctl_names server "${words[3]}" -- "${ctl[@]}") ;;
	check) COMPREPLY=($(compgen -f -- "$cur")); return ;;
	*) w="" ;;
	esac
	COMPREPLY=($(compgen -W "$w" -- "$cur"))
	if declare -F __ltrim_colon_completions >/dev/null; then
		__ltrim_colon_completions "$cur"
	fi
}
complete -F _gwctl gwctl
