# shellcheck shell=sh disable=SC2034
# Shared by the bridge's lifecycle scripts (sourced, not run).

NF=bridge
BRIDGE=br0

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

# stp_state: 1 or 0, from the stp parameter.
stp_state() {
    case ${NNFV_PARAM_STP:-false} in
        true) echo 1 ;;
        false) echo 0 ;;
        *) die "parameter stp: '$NNFV_PARAM_STP' is not a boolean (true or false)" ;;
    esac
}

# no_ipv6 IFACE: the bridge has no address, so it must not speak IPv6 either.
no_ipv6() {
    if [ -w "/proc/sys/net/ipv6/conf/$1/disable_ipv6" ]; then
        echo 1 >"/proc/sys/net/ipv6/conf/$1/disable_ipv6"
    fi
}

# wait_forwarding IFACE...: wait (3 s at most) until the bridge forwards on every port. A port
# starts forwarding only once the kernel has seen its carrier, which it notices asynchronously
# (and with STP only after the forward delay); the wait ends at the limit without an error.
wait_forwarding() {
    _tries=30
    while [ "$_tries" -gt 0 ]; do
        _ready=yes
        for _if; do
            [ "$(cat "/sys/class/net/$_if/brport/state" 2>/dev/null)" = 3 ] || _ready=no
        done
        [ "$_ready" = no ] || return 0
        sleep 0.1
        _tries=$((_tries - 1))
    done
    echo "$NF: not every port of $BRIDGE is forwarding yet ($*)" >&2
}
