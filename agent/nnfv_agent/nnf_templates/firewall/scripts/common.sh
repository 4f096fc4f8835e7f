# shellcheck shell=sh disable=SC2034
# Shared by the firewall's lifecycle scripts (sourced, not run).
# shellcheck source=../../lib/common.sh
. "$(dirname -- "$0")/nnfv-lib.sh"

NF=firewall
TABLE=nnfv_fw
BRIDGE=br0

# bool VALUE NAME: exit status 0 for true, 1 for false; dies on anything else.
bool() {
    case $1 in
        true) return 0 ;;
        false) return 1 ;;
        *) die "parameter $2: '$1' is not a boolean (true or false)" ;;
    esac
}

check_port() { # PORT PARAM-NAME
    case $1 in
        '' | *[!0-9]* | 0*) die "parameter $2: '$1' is not a port number (1-65535)" ;;
    esac
    if [ ${#1} -gt 5 ] || [ "$1" -gt 65535 ]; then
        die "parameter $2: port $1 is above 65535"
    fi
}

# port_set LIST PARAM-NAME: prints the nft anonymous set of a port-list ("22,8000-8080" ->
# "{ 22, 8000-8080 }"), nothing for an empty list. Run it in $(...): it exits on errors.
port_set() {
    _list=$(printf '%s' "$1" | tr -d ' \t')
    [ -n "$_list" ] || return 0
    _set=
    _ifs=$IFS
    IFS=,
    for _item in $_list; do
        case $_item in
            '' | -* | *- | *-*-*) die "parameter $2: '$_item' is not a port or a range" ;;
        esac
        _lo=${_item%-*}
        _hi=${_item#*-}
        check_port "$_lo" "$2"
        check_port "$_hi" "$2"
        [ "$_lo" -le "$_hi" ] || die "parameter $2: empty range '$_item'"
        _set="${_set:+$_set, }$_item"
    done
    IFS=$_ifs
    printf '{ %s }\n' "$_set"
}

# rules PROTO SET: the accept rules of one transport protocol. In->out passes traffic to the
# listed destination ports, out->in its replies (from those source ports); no set: all passes.
rules() {
    if [ -z "$2" ]; then
        printf '\t\tmeta l4proto %s accept\n' "$1"
    else
        printf '\t\tiifname "%s" oifname "%s" %s dport %s accept\n' "$IF_IN" "$IF_OUT" "$1" "$2"
        printf '\t\tiifname "%s" oifname "%s" %s sport %s accept\n' "$IF_OUT" "$IF_IN" "$1" "$2"
    fi
}

# switch VALUE NAME PORTS PORTS-NAME: prints on or off for a protocol's allow-<proto> boolean;
# dies if the protocol is off but its port list is not empty (which would mean nothing). Run it
# in $(...): it exits on errors.
switch() {
    if bool "$1" "$2"; then
        echo on
    elif [ -n "$3" ]; then
        die "parameter $4: ports are listed but $2 is false (all of it is blocked)"
    else
        echo off
    fi
}

# ruleset: the whole nft script, from the parameters. One transaction: the table is created
# if missing, flushed and filled again, so an update replaces the rules atomically.
ruleset() {
    _icmp=${NNFV_PARAM_ALLOW_ICMP:-true}
    _tcp=$(port_set "${NNFV_PARAM_ALLOW_TCP_PORTS:-}" allow-tcp-ports)
    _udp=$(port_set "${NNFV_PARAM_ALLOW_UDP_PORTS:-}" allow-udp-ports)
    _tcp_on=$(switch "${NNFV_PARAM_ALLOW_TCP:-true}" allow-tcp "$_tcp" allow-tcp-ports)
    _udp_on=$(switch "${NNFV_PARAM_ALLOW_UDP:-true}" allow-udp "$_udp" allow-udp-ports)
    cat <<NFT
add table bridge $TABLE
flush table bridge $TABLE
table bridge $TABLE {
	chain forward {
		type filter hook forward priority filter; policy drop;
		# VLAN-tagged frames cannot be filtered here: drop them.
		ether type { 0x8100, 0x88a8 } drop
		# Non-IP traffic (ARP, ...) always passes.
		ether type != { ip, ip6 } accept
		# IPv6 neighbour discovery is IPv6's ARP: it always passes.
		icmpv6 type { nd-router-solicit, nd-router-advert, nd-neighbor-solicit, nd-neighbor-advert, nd-redirect } accept
NFT
    if bool "$_icmp" allow-icmp; then
        printf '\t\tmeta l4proto { icmp, ipv6-icmp } accept\n'
    fi
    # A protocol switched off gets no accept rule: the chain's policy drops all of it.
    [ "$_tcp_on" = off ] || rules tcp "$_tcp"
    [ "$_udp_on" = off ] || rules udp "$_udp"
    printf '\t}\n}\n'
}

# apply_rules: generate the ruleset into the working directory and load it in one transaction.
apply_rules() {
    ruleset >"$W/ruleset.nft.new"
    nft -f "$W/ruleset.nft.new" || die "nft refused the ruleset ($W/ruleset.nft.new)"
    mv -f "$W/ruleset.nft.new" "$W/ruleset.nft"
}

