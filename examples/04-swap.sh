#!/usr/bin/env bash
# Quotes selling WETH for USDC on the best Uniswap route, then executes exactly that quote.
#   ./04-swap.sh [AMOUNT]
. "$(dirname "$0")/common.sh"
AMOUNT=${1:-0.5}

"$(dirname "$0")/03-approve.sh" WETH uniswap/router >/dev/null
quote=$(get "/trading/router/quote-swap?chainNetwork=ethereum-$NETWORK&connector=uniswap&walletAddress=$WALLET&baseToken=WETH&quoteToken=USDC&amount=$AMOUNT&side=SELL")
echo "$quote" | jq -c '{quoteId, amountIn, amountOut, price}'
quote_id=$(echo "$quote" | jq -r .quoteId)
post /trading/router/execute-quote \
  "{\"chainNetwork\": \"ethereum-$NETWORK\", \"connector\": \"uniswap\", \"walletAddress\": \"$WALLET\", \"quoteId\": \"$quote_id\"}" \
  | jq -c '{signature, status, data}'
