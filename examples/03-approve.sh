#!/usr/bin/env bash
# Lets a connector spend a token (unlimited unless an amount is given), then waits for the approval to be mined.
#   ./03-approve.sh [TOKEN] [SPENDER]      e.g. ./03-approve.sh USDC uniswap/clmm
. "$(dirname "$0")/common.sh"
TOKEN=${1:-WETH}
SPENDER=${2:-uniswap/router}

hash=$(post /chains/ethereum/approve \
  "{\"network\": \"$NETWORK\", \"address\": \"$WALLET\", \"token\": \"$TOKEN\", \"spender\": \"$SPENDER\"}" | jq -r .signature)
wait_for_tx "$hash"
post /chains/ethereum/allowances \
  "{\"network\": \"$NETWORK\", \"address\": \"$WALLET\", \"spender\": \"$SPENDER\", \"tokens\": [\"$TOKEN\"]}" | jq -c .approvals
