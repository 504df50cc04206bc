# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# fish completion for gwctl: install it as
# /usr/share/fish/vendor_completions.d/gwctl.fish. Commands and options,
# and the live names of services, upstreams, backends and servers, asked
# from gwd (`gwctl --json service list`, `upstream list`) when it answers;
# nothing when it does not.

# The command words typed so far, with their operands, space-separated.
function __gwctl_words
    set -l out
    set -l skip 0
    for t in (commandline -opc)[2..-1]
        if test $skip = 1
            set skip 0
            continue
        end
        switch $t
            case -s --socket --pin-root --ttl --weight --rate --burst --service --limit --count
                set skip 1
            case '-*'
            case '*'
                set -a out $t
        end
    end
    string join ' ' -- $out
end

# True when the words typed so far match the regular expression $argv[1].
function __gwctl_is
    set -l w (__gwctl_words)
    string match -rq -- "^($argv[1])\$" "$w"
end

# The names $argv[1] (service, upstream, or backend or server of
# $argv[2]) gwd gives, one a line.
function __gwctl_names
    set -l tok (commandline -opc)
    set -l ctl $tok[1]
    for i in (seq 2 (count $tok))
        if contains -- $tok[$i] -s --socket --pin-root; and test $i -lt (count $tok)
            set -a ctl $tok[$i] $tok[(math $i + 1)]
        end
    end
    set -l cmd service list
    contains -- $argv[1] upstream server; and set cmd upstream list
    timeout 2 $ctl --json $cmd 2>/dev/null | awk -F'"' -v what=$argv[1] -v parent="$argv[2]" '
        /^    "name": / { cur = $4; if (what ~ /^(service|upstream)$/ && cur != "") print cur }
        /^        "address": / { if (what ~ /^(backend|server)$/ && cur == parent) print $4 }'
end

# The operand of the last word: the name's parent.
function __gwctl_last
    string split ' ' -- (__gwctl_words) | tail -n 1
end

complete -c gwctl -f
complete -c gwctl -s s -l socket -r -F -d 'the admin socket'
complete -c gwctl -l pin-root -r -F -d 'the pins used when no gwd answers'
complete -c gwctl -l json -d "print the answer's data as JSON"
complete -c gwctl -s q -l quiet -d 'no note after a live change'
complete -c gwctl -l version -d 'print the version and exit'
complete -c gwctl -s h -l help -d 'print the usage and exit'
complete -c gwctl -l ttl -x -d 'a deny that expires (30s, 10m, 1h)'
complete -c gwctl -l weight -x -d 'the weight, 1-65535'
complete -c gwctl -l rate -x -d 'the rate, N/s, N/m or N/h'
complete -c gwctl -l burst -x -d 'the burst'
complete -c gwctl -l service -x -a '(__gwctl_names service)' -d 'the flows of one service'
complete -c gwctl -l limit -x -d 'at most N flows (0: all)'
complete -c gwctl -l watch -d 'rates every second'
complete -c gwctl -l count -x -d 'N times'
complete -c gwctl -l all -d 'reasons without packets too'

complete -c gwctl -n '__gwctl_is ""' -a 'status stats filter ratelimit service backend upstream conntrack route splice reload check'
complete -c gwctl -n '__gwctl_is filter' -a 'list deny allow'
complete -c gwctl -n '__gwctl_is "filter (deny|allow)"' -a 'add del'
complete -c gwctl -n '__gwctl_is ratelimit' -a 'show set'
complete -c gwctl -n '__gwctl_is "ratelimit set"' -a 'packets syn'
complete -c gwctl -n '__gwctl_is "service|conntrack|route|splice"' -a list
complete -c gwctl -n '__gwctl_is backend' -a 'add del drain'
complete -c gwctl -n '__gwctl_is "backend (add|del|drain)"' -a '(__gwctl_names service)'
complete -c gwctl -n '__gwctl_is "backend (del|drain) [^ ]+"' -a '(__gwctl_names backend (__gwctl_last))'
complete -c gwctl -n '__gwctl_is upstream' -a 'list server'
complete -c gwctl -n '__gwctl_is "upstream server"' -a 'add del drain'
complete -c gwctl -n '__gwctl_is "upstream server (add|del|drain)"' -a '(__gwctl_names upstream)'
complete -c gwctl -n '__gwctl_is "upstream server (del|drain) [^ ]+"' -a '(__gwctl_names server (__gwctl_last))'
complete -c gwctl -n '__gwctl_is check' -F
