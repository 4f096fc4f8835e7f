# shellcheck shell=sh disable=SC2034
# Shared by the NAT's lifecycle scripts (sourced, not run).
# shellcheck source=../../lib/common.sh
. "$(dirname -- "$0")/nnfv-lib.sh"

NF=nat
TABLE=nnfv_nat

ipv4_prefix() { # VALUE PARAM-NAME
    case $1 in
        */*) ;;
        *) die "parameter $2: '$1' is not an IPv4 prefix (address/length)" ;;
    esac
    is_ipv4 "${1%/*}" || die "parameter $2: '$1' is not an IPv4 prefix (address/length)"
    case ${1#*/} in
        [0-9] | [12][0-9] | 3[0-2]) ;;
        *) die "parameter $2: '$1' has an invalid prefix length" ;;
    esac
}

# config: read and check the parameters into IN_ADDR, OUT_ADDR, GATEWAY, MODE, SNAT.
config() {
    IN_ADDR=${NNFV_PARAM_IN_ADDRESS:-}
    OUT_ADDR=${NNFV_PARAM_OUT_ADDRESS:-}
    GATEWAY=${NNFV_PARAM_OUT_GATEWAY:-}
    MODE=${NNFV_PARAM_MODE:-masquerade}
    SNAT=${NNFV_PARAM_SNAT_ADDRESS:-}
    [ -n "$IN_ADDR" ] || die "parameter in-address is mandatory"
    [ -n "$OUT_ADDR" ] || die "parameter out-address is mandatory"
    ipv4_prefix "$IN_ADDR" in-address
    ipv4_prefix "$OUT_ADDR" out-address
    [ -z "$GATEWAY" ] || ipv4_address "$GATEWAY" out-gateway
    case $MODE in
        masquerade) ;;
        snat)
            [ -n "$SNAT" ] || die "parameter snat-address is mandatory in snat mode"
            ipv4_address "$SNAT" snat-address
            ;;
        *) die "parameter mode: '$MODE' is neither masquerade nor snat" ;;
    esac
}

# set_addresses IFACE PREFIX...: the interface's IPv4 addresses become exactly these.
set_addresses() {
    _if=$1
    shift
    for _have in $(ip -4 -o addr show dev "$_if" | awk '{ print $4 }'); do
        _keep=no
        for _want; do
            [ "$_have" != "$_want" ] || _keep=yes
        done
        [ "$_keep" = yes ] || ip addr del "$_have" dev "$_if"
    done
    for _want; do
        ip addr replace "$_want" dev "$_if"
    done
    ip link set dev "$_if" up
}

ruleset() {
    if [ "$MODE" = snat ]; then
        _action="snat to $SNAT"
    else
        _action=masquerade
    fi
    cat <<NFT
add table ip $TABLE
flush table ip $TABLE
table ip $TABLE {
	chain postrouting {
		type nat hook postrouting priority srcnat; policy accept;
		oifname "$IF_OUT" $_action
	}
}
NFT
}

# apply: addresses, default route, forwarding and NAT rules from the parameters. Used by
# start and update: every step replaces what is there, so it can run again.
apply() {
    set_addresses "$IF_IN" "$IN_ADDR"
    if [ "$MODE" = snat ] && [ "$SNAT" != "${OUT_ADDR%/*}" ]; then
        # The out side must answer ARP for the translated address.
        set_addresses "$IF_OUT" "$OUT_ADDR" "$SNAT/32"
    else
        set_addresses "$IF_OUT" "$OUT_ADDR"
    fi
    if [ -n "$GATEWAY" ]; then
        ip route replace default via "$GATEWAY" dev "$IF_OUT"
    elif ip -4 route show default | grep -q .; then
        ip route del default
    fi
    echo 1 >/proc/sys/net/ipv4/ip_forward
    ruleset >"$W/ruleset.nft.new"
    nft -f "$W/ruleset.nft.new" || die "nft refused the ruleset ($W/ruleset.nft.new)"
    mv -f "$W/ruleset.nft.new" "$W/ruleset.nft"
}
