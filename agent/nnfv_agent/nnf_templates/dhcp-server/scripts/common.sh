# shellcheck shell=sh disable=SC2034
# Shared by the DHCP server's lifecycle scripts (sourced, not run).
# shellcheck source=../../lib/common.sh
. "$(dirname -- "$0")/nnfv-lib.sh"

NF=dhcp-server

# The port, from the arguments.
ports() {
    [ $# -ge 1 ] || die "expected 1 interface (lan), got none"
    IF_LAN=$1
}

workdir() {
    need_workdir
    PIDFILE=$W/dnsmasq.pid
}

# config: read and check the parameters.
config() {
    ADDRESS=${NNFV_PARAM_ADDRESS:-}
    START=${NNFV_PARAM_RANGE_START:-}
    END=${NNFV_PARAM_RANGE_END:-}
    LEASE=${NNFV_PARAM_LEASE_TIME:-1h}
    ROUTER=${NNFV_PARAM_ROUTER:-}
    DNS=${NNFV_PARAM_DNS_SERVER:-}
    for _p in address:"$ADDRESS" range-start:"$START" range-end:"$END"; do
        [ -n "${_p#*:}" ] || die "parameter ${_p%%:*} is mandatory"
    done
    case $ADDRESS in
        */[0-9] | */[12][0-9] | */3[0-2]) ;;
        *) die "parameter address: '$ADDRESS' is not an IPv4 prefix (address/length)" ;;
    esac
    ipv4_address "${ADDRESS%/*}" address
    ipv4_address "$START" range-start
    ipv4_address "$END" range-end
    [ -z "$ROUTER" ] || ipv4_address "$ROUTER" router
    [ -z "$DNS" ] || ipv4_address "$DNS" dns-server
    case $LEASE in
        infinite) ;;
        '' | *[!0-9smhdw] | [!1-9]* | *[!0-9]*[smhdw] | *[smhdw]?*)
            die "parameter lease-time: '$LEASE' is not a duration (e.g. 3600, 45m, 12h, 1d)"
            ;;
    esac
    # The range must lie in the interface's subnet, or dnsmasq would never use it.
    _len=${ADDRESS#*/}
    _mask=$(((0xffffffff << (32 - _len)) & 0xffffffff))
    _net=$(($(ipv4_int "${ADDRESS%/*}") & _mask))
    _start=$(ipv4_int "$START")
    _end=$(ipv4_int "$END")
    [ "$_start" -le "$_end" ] || die "range-start $START is after range-end $END"
    if [ $((_start & _mask)) -ne "$_net" ] || [ $((_end & _mask)) -ne "$_net" ]; then
        die "the range $START-$END is not in the subnet of address $ADDRESS"
    fi
}

# running: exit status 0 when the dnsmasq of the pid file runs; its pid in PID.
running() {
    pid_running dnsmasq
}

# kill_dnsmasq: stop the dnsmasq of the pid file (TERM, then KILL after 3 s); no error if none.
kill_dnsmasq() {
    stop_pid dnsmasq 30
    rm -f "$PIDFILE"
}
