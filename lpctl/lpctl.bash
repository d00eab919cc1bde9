# bash completion for lpctl: commands, their options, program files,
# and, asking the running lpd, program names, node names and methods.
# Installed as share/bash-completion/completions/lpctl.

# The --socket (or -S) given on the line, as lpctl options for our own
# calls to lpctl.
_lpctl_socket()
{
	local i
	for ((i = 1; i < COMP_CWORD; i++)); do
		case ${COMP_WORDS[i]} in
		--socket | -S)
			printf -- '--socket\n%s\n' "${COMP_WORDS[i + 1]}"
			return
			;;
		esac
	done
}

# The names of lpd's programs: the first column of lpctl status.
_lpctl_programs()
{
	local -a sock
	mapfile -t sock < <(_lpctl_socket)
	lpctl "${sock[@]}" status 2>/dev/null |
	    awk 'NR > 1 && $1 != "no" { print $1 }'
}

# The nodes of program $1: the first column of lpctl status -v PROGRAM.
_lpctl_nodes()
{
	local -a sock
	mapfile -t sock < <(_lpctl_socket)
	lpctl "${sock[@]}" status -v "$1" 2>/dev/null |
	    awk '$1 == "NODE" { on = 1; next } on { print $1 }'
}

# The methods of node $2 of program $1.
_lpctl_methods()
{
	local -a sock
	mapfile -t sock < <(_lpctl_socket)
	lpctl "${sock[@]}" methods --timeout 2 "$1" "$2" 2>/dev/null
}

_lpctl()
{
	local cur=${COMP_WORDS[COMP_CWORD]} cmd="" i n=0 word
	local -a args=()
	local commands="run launch stop restart status logs call methods wait
	    forget validate graph"

	# The command, and the words after it that are not options.
	for ((i = 1; i < COMP_CWORD; i++)); do
		word=${COMP_WORDS[i]}
		case $word in
		--socket | -S | --grace | --name | --log-dir | --log-max | \
		--log-keep | --timeout | --ready-timeout | -n | --lines)
			((i++))
			continue
			;;
		-*)
			continue
			;;
		esac
		if [[ -z $cmd ]]; then
			cmd=$word
		else
			args+=("$word")
		fi
	done
	n=${#args[@]}

	if [[ -z $cmd ]]; then
		if [[ $cur == -* ]]; then
			mapfile -t COMPREPLY < <(compgen -W "--socket --help \
			    --version" -- "$cur")
		else
			mapfile -t COMPREPLY < <(compgen -W "$commands" -- \
			    "$cur")
		fi
		return
	fi
	case ${COMP_WORDS[COMP_CWORD - 1]} in
	--socket | -S | --log-dir)
		mapfile -t COMPREPLY < <(compgen -f -- "$cur")
		return
		;;
	--grace | --name | --log-max | --log-keep | --timeout | \
	    --ready-timeout | -n | --lines)
		return
		;;
	esac
	if [[ $cur == -* ]]; then
		local opts
		case $cmd in
		run) opts="--grace --name --log-dir --log-max --log-keep --tcp
		    --quiet --help" ;;
		launch) opts="--ready --ready-timeout --wait --name --grace
		    --socket --help" ;;
		stop) opts="--grace --kill --no-wait --socket --help" ;;
		restart) opts="--no-wait --ready-timeout --socket --help" ;;
		status) opts="-v --verbose --json --socket --help" ;;
		logs) opts="-f --follow -t --timestamps -n --lines --socket --help" ;;
		call | methods) opts="--timeout --socket --help" ;;
		*) opts="--socket --help" ;;
		esac
		mapfile -t COMPREPLY < <(compgen -W "$opts" -- "$cur")
		return
	fi
	case $cmd in
	run | launch | validate | graph)
		# Program files.
		((n == 0)) && mapfile -t COMPREPLY < <(compgen -f -X \
		    '!*.json' -- "$cur"; compgen -d -- "$cur")
		;;
	stop | status | wait | forget)
		((n == 0)) && mapfile -t COMPREPLY < <(compgen -W \
		    "$(_lpctl_programs)" -- "$cur")
		;;
	restart)
		if ((n == 0)); then
			mapfile -t COMPREPLY < <(compgen -W \
			    "$(_lpctl_programs)" -- "$cur")
		else
			mapfile -t COMPREPLY < <(compgen -W \
			    "$(_lpctl_nodes "${args[0]}")" -- "$cur")
		fi
		;;
	logs | call | methods)
		if ((n == 0)); then
			mapfile -t COMPREPLY < <(compgen -W \
			    "$(_lpctl_programs)" -- "$cur")
		elif ((n == 1)); then
			mapfile -t COMPREPLY < <(compgen -W \
			    "$(_lpctl_nodes "${args[0]}")" -- "$cur")
		elif ((n == 2)) && [[ $cmd == call ]]; then
			mapfile -t COMPREPLY < <(compgen -W \
			    "$(_lpctl_methods "${args[0]}" "${args[1]}")" -- \
			    "$cur")
		fi
		;;
	esac
}
complete -F _lpctl lpctl
