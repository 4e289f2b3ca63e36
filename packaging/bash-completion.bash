# bash completion for create-pipeline and deploy-pipeline. Commands and options come from the
# programs' own --help, so the completion cannot drift from them.

_phoenix_pipeline() {
    local program=${COMP_WORDS[0]} cur=${COMP_WORDS[COMP_CWORD]} prev=
    [ "$COMP_CWORD" -gt 0 ] && prev=${COMP_WORDS[COMP_CWORD-1]}
    COMPREPLY=()
    if [ "$COMP_CWORD" -eq 1 ]; then
        local commands
        commands=$("$program" --help 2>/dev/null | sed -n '/^Commands:/,/^$/{s/^  \([a-z][a-z-]*\) .*/\1/p}')
        mapfile -t COMPREPLY < <(compgen -W "$commands help --help --version" -- "$cur")
        return
    fi
    case $prev in
        --config|--junit|--repo|--dir)
            mapfile -t COMPREPLY < <(compgen -f -- "$cur")
            return ;;
        --output|-o)
            mapfile -t COMPREPLY < <(compgen -W "table json" -- "$cur")
            return ;;
        --from|--to)
            # ci-config's take a CI server's kind; rebuild --from and rollback --to a pool label,
            # which only the provider knows: nothing is offered for those (no file names either).
            if [ "${COMP_WORDS[1]}" = ci-config ]; then
                mapfile -t COMPREPLY < <(compgen -W "gocd jenkins" -- "$cur")
            else
                compopt +o default 2>/dev/null
            fi
            return ;;
    esac
    if [ "${COMP_WORDS[1]}" = ci-config ] && [ "$COMP_CWORD" -eq 2 ]; then
        mapfile -t COMPREPLY < <(compgen -W "backup restore" -- "$cur")
        return
    fi
    if [[ $cur == -* ]]; then
        local options
        options=$("$program" "${COMP_WORDS[1]}" --help 2>/dev/null | grep -oE -- '--[a-z][a-z-]*' | sort -u)
        mapfile -t COMPREPLY < <(compgen -W "$options" -- "$cur")
    fi
}
complete -o default -F _phoenix_pipeline create-pipeline deploy-pipeline
