# shellcheck shell=sh disable=SC2034
# The helpers every shipped template shares (sourced, not run). One copy lives here; the
# agent's packer (node/catalog.py) adds it to each template archive as scripts/nnfv-lib.sh, so
# each archive still stands alone. A template sets NF before sourcing it and may redefine any
# function after (e.g. `ports` for another number of interfaces, `workdir` for more paths).

die() {
    echo "$NF: $*" >&2
    exit 1
}

# The ports, from the arguments (in index order: in, out).
ports() {
    [ $# -ge 2 ] || die "expected 2 interfaces (in out), got $#: $*"
    IF_IN=$1
    IF_OUT=$2
}

# need_workdir: W is the instance's working directory (dies if the agent gave none).
need_workdir() {
    W=${NNFV_WORKDIR:-}
    if [ -z "$W" ] || [ ! -d "$W" ]; then
        die "NNFV_WORKDIR is not set or not a directory"
    fi
}

workdir() {
    need_workdir
}

# ipv4_int ADDRESS: prints the address as an integer; exit status 1 if it is no IPv4 address.
ipv4_int() {
    case $1 in
        '' | *[!0-9.]* | .* | *. | *..*) return 1 ;;
    esac
    _ifs=$IFS
    IFS=.
    # shellcheck disable=SC2086 # split on the dots
    set -- $1
    IFS=$_ifs
    [ $# -eq 4 ] || return 1
    for _octet; do
        case $_octet in
            0?*) return 1 ;;
        esac
        [ ${#_octet} -le 3 ] && [ "$_octet" -le 255 ] || return 1
    done
    echo $(((($1 * 256 + $2) * 256 + $3) * 256 + $4))
}

is_ipv4() {
    ipv4_int "$1" >/dev/null
}

ipv4_address() { # VALUE PARAM-NAME
    is_ipv4 "$1" || die "parameter $2: '$1' is not an IPv4 address"
}

# no_ipv6 IFACE: the function itself has no address, so it must not speak IPv6 either.
no_ipv6() {
    if [ -w "/proc/sys/net/ipv6/conf/$1/disable_ipv6" ]; then
        echo 1 >"/proc/sys/net/ipv6/conf/$1/disable_ipv6"
    fi
}

# wait_forwarding IFACE...: wait (3 s at most) until the bridge $BRIDGE forwards on every port.
# A port starts forwarding only once the kernel has seen its carrier, which it notices
# asynchronously (and with STP only after the forward delay); a port whose peer is down stays
# disabled, and the wait ends at the limit without an error.
wait_forwarding() {
    _tries=300
    while [ "$_tries" -gt 0 ]; do
        _ready=yes
        for _if; do
            [ "$(cat "/sys/class/net/$_if/brport/state" 2>/dev/null)" = 3 ] || _ready=no
        done
        [ "$_ready" = no ] || return 0
        sleep 0.01
        _tries=$((_tries - 1))
    done
    echo "$NF: warning: not every port of $BRIDGE is forwarding yet ($*)" >&2
}

# pid_running COMM: exit status 0 when the process of $PIDFILE runs and is COMM; its pid in PID.
pid_running() {
    PID=
    [ -s "$PIDFILE" ] || return 1
    PID=$(cat "$PIDFILE")
    case $PID in
        '' | *[!0-9]*) return 1 ;;
    esac
    [ "$(cat "/proc/$PID/comm" 2>/dev/null)" = "$1" ]
}

# stop_pid COMM TENTHS: stop the COMM of $PIDFILE (TERM, then KILL after TENTHS tenths of a
# second); no error if none runs.
stop_pid() {
    if pid_running "$1"; then
        kill "$PID" 2>/dev/null || true
        _tries=$2
        while pid_running "$1" && [ "$_tries" -gt 0 ]; do
            sleep 0.1
            _tries=$((_tries - 1))
        done
        if pid_running "$1"; then
            kill -KILL "$PID" 2>/dev/null || true
            sleep 0.1
        fi
    fi
}
