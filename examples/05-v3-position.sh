#!/usr/bin/env bash
# Opens a concentrated-liquidity position on the Uniswap V3 WETH/USDC 0.05 % pool, shows it, then closes it.
. "$(dirname "$0")/common.sh"
POOL=${POOL:-0x88e6A0c2dDD26FEEb64F039a2c41296FcB3f5640}
TARGET="\"chainNetwork\": \"ethereum-$NETWORK\", \"connector\": \"uniswap\", \"walletAddress\": \"$WALLET\""

"$(dirname "$0")/03-approve.sh" WETH uniswap/clmm >/dev/null
"$(dirname "$0")/03-approve.sh" USDC uniswap/clmm >/dev/null
get "/trading/clmm/pool-info?chainNetwork=ethereum-$NETWORK&connector=uniswap&poolAddress=$POOL" | jq -c '{price, feePct, baseTokenAmount, quoteTokenAmount}'
opened=$(post /trading/clmm/open \
  "{$TARGET, \"poolAddress\": \"$POOL\", \"lowerPrice\": 2700, \"upperPrice\": 3300, \"baseTokenAmount\": 1}")
echo "$opened" | jq -c '{signature, status, data}'
position=$(echo "$opened" | jq -r .data.positionAddress)
get "/trading/clmm/position-info?chainNetwork=ethereum-$NETWORK&connector=uniswap&positionAddress=$position" \
  | jq -c '{address, lowerPrice, upperPrice, baseTokenAmount, quoteTokenAmount}'
post /trading/clmm/close "{$TARGET, \"positionAddress\": \"$position\"}" | jq -c '{signature, status, data}'
