# shellcheck shell=sh disable=SC2034
# Shared by the DHCP server's lifecycle scripts (sourced, not run).

NF=dhcp-server

die() {
    echo "$NF: $*" >&2
    exit 1
}

# The port, from the arguments.
ports() {
    [ $# -ge 1 ] || die "expected 1 interface (lan), got none"
    IF_LAN=$1
}

workdir() {
    W=${NNFV_WORKDIR:-}
    if [ -z "$W" ] || [ ! -d "$W" ]; then
        die "NNFV_WORKDIR is not set or not a directory"
    fi
    PIDFILE=$W/dnsmasq.pid
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

ipv4_address() { # VALUE PARAM-NAME
    ipv4_int "$1" >/dev/null || die "parameter $2: '$1' is not an IPv4 address"
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
    PID=
    [ -s "$PIDFILE" ] || return 1
    PID=$(cat "$PIDFILE")
    case $PID in
        '' | *[!0-9]*) return 1 ;;
    esac
    [ "$(cat "/proc/$PID/comm" 2>/dev/null)" = dnsmasq ]
}

# kill_dnsmasq: stop the dnsmasq of the pid file (TERM, then KILL after 3 s); no error if none.
kill_dnsmasq() {
    if running; then
        kill "$PID" 2>/dev/null || true
        _tries=30
        while running && [ "$_tries" -gt 0 ]; do
            sleep 0.1
            _tries=$((_tries - 1))
        done
        if running; then
            kill -KILL "$PID" 2>/dev/null || true
        fi
    fi
    rm -f "$PIDFILE"
}
