# shellcheck shell=sh disable=SC2034
# Shared by the bridge's lifecycle scripts (sourced, not run).
# shellcheck source=../../lib/common.sh
. "$(dirname -- "$0")/nnfv-lib.sh"

NF=bridge
BRIDGE=br0

# stp_state: 1 or 0, from the stp parameter.
stp_state() {
    case ${NNFV_PARAM_STP:-false} in
        true) echo 1 ;;
        false) echo 0 ;;
        *) die "parameter stp: '$NNFV_PARAM_STP' is not a boolean (true or false)" ;;
    esac
}

