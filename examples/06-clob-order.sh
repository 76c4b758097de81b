#!/usr/bin/env bash
# Places a limit order on the 0x order book kept by the gateway, shows the book and the order, then cancels it.
#   ./06-clob-order.sh [SIDE] [PRICE] [AMOUNT]      e.g. ./06-clob-order.sh SELL 3100 0.5
# The wallet must have approved the token it gives for zeroex/clob (./03-approve.sh WETH zeroex/clob).
. "$(dirname "$0")/common.sh"
SIDE=${1:-SELL}
PRICE=${2:-3100}
AMOUNT=${3:-0.5}
MARKET=WETH-USDC

placed=$(post /clob/orders "{\"network\": \"$NETWORK\", \"connector\": \"zeroex\", \"address\": \"$WALLET\", \
  \"market\": \"$MARKET\", \"side\": \"$SIDE\", \"orderType\": \"LIMIT_MAKER\", \"price\": \"$PRICE\", \"amount\": \"$AMOUNT\"}")
order_id=$(echo "$placed" | jq -r .orderId)
echo "placed: $order_id" >&2
get "/clob/orderBook?network=$NETWORK&connector=zeroex&market=$MARKET" | jq -c .orderbook
get "/clob/orders?network=$NETWORK&connector=zeroex&orderId=$order_id" | jq -c '.orders[0] | {status, side, price, amount}'

cancelled=$(curl -sS --fail-with-body -X DELETE "$GATEWAY/clob/orders" -H 'content-type: application/json' \
  -d "{\"network\": \"$NETWORK\", \"connector\": \"zeroex\", \"address\": \"$WALLET\", \"market\": \"$MARKET\", \"orderId\": \"$order_id\"}")
echo "cancelled in $(echo "$cancelled" | jq -r .txHash)" >&2
get "/clob/orders?network=$NETWORK&connector=zeroex&orderId=$order_id" | jq -r '.orders[0].status'
