# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# bash completion for gwctl: source it, or install it as
# /usr/share/bash-completion/completions/gwctl.
_gwctl() {
	local cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD - 1]}
	local words=() w i
	for ((i = 1; i < COMP_CWORD; i++)); do
		w=${COMP_WORDS[i]}
		case $w in
		-s | --socket | --pin-root | --ttl | --weight | --rate | --burst | --service | \
			--limit | --count) ((i++)) ;;
		-*) ;;
		*) words+=("$w") ;;
		esac
	done
	case $prev in
	-s | --socket | --pin-root) COMPREPLY=($(compgen -f -- "$cur")); return ;;
	--ttl | --weight | --rate | --burst | --service | --limit | --count) return ;;
	esac
	if [[ $cur == -* ]]; then
		COMPREPLY=($(compgen -W "--socket --pin-root --json --help --ttl --weight --rate
			--burst --service --limit --watch --count --all" -- "$cur"))
		return
	fi
	case "${words[*]}" in
	"") w="status stats filter ratelimit service backend upstream conntrack route reload check" ;;
	filter) w="list deny allow" ;;
	"filter deny" | "filter allow") w="add del" ;;
	ratelimit) w="show set" ;;
	"ratelimit set") w="packets syn" ;;
	service | conntrack | route) w="list" ;;
	backend) w="add del drain" ;;
	upstream) w="list server" ;;
	"upstream server") w="add del drain" ;;
	check) COMPREPLY=($(compgen -f -- "$cur")); return ;;
	*) w="" ;;
	esac
	COMPREPLY=($(compgen -W "$w" -- "$cur"))
}
complete -F _gwctl gwctl
