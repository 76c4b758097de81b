"""Drives the gateway into each failure Hummingbot's client branches on, through the client's own code: its HTTP
client raises the GatewayError, and its own rules read it (gateway_base.py's extract_error_code, retry code sets
and timeout-signature pattern; gateway_utils.py's is_slippage_failure, which starts the slippage ramp). Those
rules are lifted from the sdist's modules as written (they sit in modules that import all of Hummingbot).

usage: error_paths.py CACHE_DIR GATEWAY_URL NODE_URL FRONT_URL PRIVATE_KEY MOVER_ADDRESS V2_ROUTER SWAP_ROUTER02
NODE_URL is the devnet itself (mining is switched there); FRONT_URL the node front the gateway reads through,
which answers 429 to every call between POST FRONT_URL/limit/on and /limit/off. MOVER_ADDRESS is an unlocked
devnet account that moves the market with its own transactions, tipping more than the gateway does.
Exits non-zero, naming the step, when a failure is not read as Gateway v2.17's would be.
"""
import ast
import asyncio
import json
import os
import re
import sys
import time
import urllib.request
from decimal import Decimal
from typing import Optional

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import client_session  # noqa: E402

NETWORK, CHAIN = "devnet", "ethereum"
GWEI = 10**9


def client_rules(directory: str, gateway_error) -> dict:
    """The client's own definitions, taken from its modules by name and run as written."""
    wanted = {
        "gateway_base.py": {"NON_RETRYABLE_ERROR_CODES", "RETRYABLE_ERROR_CODES", "_TIMEOUT_SIGNATURE_PATTERN",
                            "extract_error_code", "_extract_timeout_signature"},
        "gateway_utils.py": {"SLIPPAGE_ERROR_CODE", "is_slippage_failure"},
    }
    rules = {"re": re, "Optional": Optional, "GatewayError": gateway_error}
    for file, names in wanted.items():
        tree = ast.parse(open(os.path.join(directory, file)).read())
        nodes = []
        for node in tree.body:
            if isinstance(node, ast.ClassDef):
                # Methods the rules need, as plain functions (the class brings the whole connector with it).
                for member in node.body:
                    if isinstance(member, ast.FunctionDef) and member.name in names:
                        member.decorator_list = []
                        nodes.append(member)
            elif isinstance(node, ast.FunctionDef) and node.name in names:
                nodes.append(node)
            elif isinstance(node, ast.Assign) and any(getattr(t, "id", None) in names for t in node.targets):
                nodes.append(node)
        exec(compile(ast.Module(body=nodes, type_ignores=[]), file, "exec"), rules)
        missing = names - set(rules)
        if missing:
            sys.exit(f"{file} no longer defines {sorted(missing)}")
    return rules


def rpc(url: str, method: str, params: list):
    request = urllib.request.Request(url, json.dumps({"jsonrpc": "2.0", "id": 1, "method": method, "params": params}).encode(),
                                     {"content-type": "application/json"})
    answer = json.loads(urllib.request.urlopen(request, timeout=30).read())
    if "error" in answer:
        sys.exit(f"{method}: {answer['error']}")
    return answer["result"]


def word(value) -> str:
    return (value[2:].lower() if isinstance(value, str) else format(value, "x")).rjust(64, "0")


class Run:
    def __init__(self, client, rules, trade, node_url, front_url, wallet, mover):
        self.client, self.rules, self.trade = client, rules, trade
        self.node_url, self.front_url = node_url, front_url
        self.wallet, self.mover = wallet, mover
        self.target = {"chainNetwork": f"{CHAIN}-{NETWORK}", "connector": "uniswap"}

    async def refused(self, name: str, call, code: str, status: int):
        """`call` fails; the client's extract_error_code reads `code`, and what the client does with it follows."""
        try:
            answer = await call
        except Exception as error:
            got = self.rules["extract_error_code"](error)
            if got != code or getattr(error, "status", None) != status:
                sys.exit(f"{name}: the client read code {got} (HTTP {getattr(error, 'status', None)}), not {code} ({status}): {error}")
            retried = code in self.rules["RETRYABLE_ERROR_CODES"]
            failed_at_once = code in self.rules["NON_RETRYABLE_ERROR_CODES"]
            print(f"ok {name}: {code} ({'retried' if retried else 'fails at once' if failed_at_once else 'other'})", flush=True)
            return error
        sys.exit(f"{name}: succeeded, where {code} was expected: {answer}")

    def slippage(self, name: str, error):
        if not self.rules["is_slippage_failure"](error):
            sys.exit(f"{name}: is_slippage_failure is false for {error}")
        if not self.rules["is_slippage_failure"](Exception(str(error))):
            sys.exit(f"{name}: the rendered message lost [code: SLIPPAGE_EXCEEDED]: {error}")
        print(f"ok {name}: the slippage ramp starts", flush=True)

    def mine(self, automatic: bool):
        rpc(self.node_url, "evm_setAutomine", [automatic])

    def pending(self) -> int:
        return len(rpc(self.node_url, "eth_getBlockByNumber", ["pending", False])["transactions"])

    async def until_pending(self, count: int):
        for _ in range(300):
            if self.pending() >= count:
                return
            await asyncio.sleep(0.05)
        sys.exit(f"never {count} transactions pending")

    def mover_sends(self, to: str, data: str, value: int) -> str:
        """The mover's own transaction, tipping 100 gwei: mined first in the block it shares with the gateway's."""
        return rpc(self.node_url, "eth_sendTransaction", [{"from": self.mover, "to": to, "data": data, "value": hex(value),
                                                   "gas": hex(600_000), "maxFeePerGas": hex(1_000 * GWEI),
                                                   "maxPriorityFeePerGas": hex(100 * GWEI)}])

    async def request_shape(self):
        call = self.client.api_request("get", "trading/router/quote-swap", {
            **self.target, "baseToken": "WETH", "quoteToken": "USDC", "amount": "-1", "side": "SELL"})
        error = await self.refused("a negative amount", call, "INVALID_PARAMS", 400)
        if "amount" not in error.message:
            sys.exit(f"the refusal does not name the field: {error}")
        call = self.client.api_request("post", f"chains/{CHAIN}/balances", {
            "network": NETWORK, "address": self.wallet, "tokens": ["WETH"], "tokenz": ["USDC"]})
        error = await self.refused("an unknown request key", call, "INVALID_PARAMS", 400)
        if "tokenz" not in error.message:
            sys.exit(f"the refusal does not name the key: {error}")
        call = self.client.quote_swap(NETWORK, "WETH", "LINK", Decimal("1"), self.trade.SELL, dex="uniswap",
                                      trading_type="router", chain=CHAIN)
        await self.refused("a pair no pool trades", call, "NO_ROUTE_FOUND", 400)

    async def funds_and_simulation(self, usdc: str):
        call = self.client.execute_swap(NETWORK, "WETH", "USDC", self.trade.SELL, Decimal("5000"), dex="uniswap",
                                        trading_type="router", wallet_address=self.wallet, chain=CHAIN)
        error = await self.refused("selling more than the wallet holds", call, "INSUFFICIENT_BALANCE", 400)
        if "holds 1000 WETH; this needs 5000 WETH" not in error.message:
            sys.exit(f"the refusal does not say what is held and needed: {error}")
        call = self.client.api_request("post", "wallet/send", {
            "network": NETWORK, "address": self.wallet, "toAddress": usdc, "amount": "0.000000000000000001"})
        await self.refused("ether sent to a token contract", call, "SIMULATION_FAILED", 400)

    async def quote_then_market_moves(self, base: str, amount: str, mover_amount: str):
        """A router quote executed after a trade moved the market past its slippage: refused before sending."""
        quote = await self.client.quote_swap(NETWORK, base, "USDC", Decimal(amount), self.trade.SELL, dex="uniswap",
                                             trading_type="router", chain=CHAIN)
        await self.client.execute_swap(NETWORK, base, "USDC", self.trade.SELL, Decimal(mover_amount), dex="uniswap",
                                       trading_type="router", wallet_address=self.wallet, chain=CHAIN)
        call = self.client.execute_quote("uniswap", NETWORK, quote["quoteId"], self.wallet, chain=CHAIN)
        error = await self.refused(f"a {base} router quote after the market moved", call, "SLIPPAGE_EXCEEDED", 400)
        if "the market gives" not in error.message or (base == "ETH") != ("V4TooLittleReceived" in error.message):
            sys.exit(f"the refusal does not say what the router and the market said: {error}")
        self.slippage(f"a {base} router quote after the market moved", error)

    async def mined_past_slippage(self, kind: str, trades: list, to: str, pool: Optional[str] = None):
        """The wallet's swap (through `pool`, else the best one) is simulated and sent; then the mover's trades,
        tipping more, are mined before it in the same block: it reverts on-chain on its slippage bound."""
        self.mine(False)
        try:
            start = self.pending()
            swap = asyncio.ensure_future(self.client.api_request("post", f"trading/{kind}/execute-swap", {
                **self.target, "walletAddress": self.wallet, "baseToken": "WETH", "quoteToken": "USDC", "amount": "1",
                "side": "SELL", **({"poolAddress": pool} if pool else {})}))
            await self.until_pending(start + 1)
            moved = [self.mover_sends(to, data, 200 * 10**18) for data in trades]
            await self.until_pending(start + 1 + len(trades))
            rpc(self.node_url, "evm_mine", [])
            if any(rpc(self.node_url, "eth_getTransactionReceipt", [tx])["status"] != "0x1" for tx in moved):
                sys.exit(f"a trade of the mover's on the {kind} pools reverted")
            error = await self.refused(f"an {kind} swap mined after the market moved", swap, "SLIPPAGE_EXCEEDED", 400)
            if not re.search(r"Transaction 0x[0-9a-f]{64} was mined and reverted", error.message):
                sys.exit(f"the refusal does not name the mined transaction: {error}")
            self.slippage(f"an {kind} swap mined after the market moved", error)
        finally:
            self.mine(True)

    def v2_sell_eth(self, weth: str, usdc: str) -> str:
        # swapExactETHForTokens(uint256 amountOutMin, address[] path, address to, uint256 deadline)
        return "0x7ff36ab5" + word(0) + word(0x80) + word(self.mover) + word(2**40) + word(2) + word(weth) + word(usdc)

    def v3_sell_eth(self, weth: str, usdc: str, fee: int = 500) -> str:
        # exactInputSingle((tokenIn, tokenOut, fee, recipient, amountIn, amountOutMinimum, sqrtPriceLimitX96))
        return "0x04e45aaf" + word(weth) + word(usdc) + word(fee) + word(self.mover) + word(200 * 10**18) + word(0) + word(0)

    async def timeout_then_poll(self):
        namespace = f"{CHAIN}-{NETWORK}"
        configured = (await self.client.get_configuration(namespace))["transactionExecutionTimeoutMs"]
        await self.client.api_request("post", "config/update", {
            "namespace": namespace, "path": "transactionExecutionTimeoutMs", "value": 1000})
        self.mine(False)
        try:
            call = self.client.execute_swap(NETWORK, "WETH", "USDC", self.trade.SELL, Decimal("0.1"), dex="uniswap",
                                            trading_type="router", wallet_address=self.wallet, chain=CHAIN)
            error = await self.refused("a swap not mined in time", call, "TRANSACTION_TIMEOUT", 504)
            signature = self.rules["_extract_timeout_signature"](str(error))
            if not signature or not re.fullmatch(r"0x[0-9a-f]{64}", signature):
                sys.exit(f"the client's pattern found no signature in {error}")
            polled = await self.client.get_transaction_status(CHAIN, NETWORK, signature)
            if polled["txStatus"] != 0:
                sys.exit(f"not pending before a block: {polled}")
            rpc(self.node_url, "evm_mine", [])
            polled = await self.client.get_transaction_status(CHAIN, NETWORK, signature)
            if polled["txStatus"] != 1:
                sys.exit(f"poll does not report it confirmed once mined: {polled}")
            print(f"ok the client polls {signature[:10]}… to confirmed", flush=True)
        finally:
            self.mine(True)
            await self.client.api_request("post", "config/update", {
                "namespace": namespace, "path": "transactionExecutionTimeoutMs", "value": configured})

    async def rate_limited(self):
        urllib.request.urlopen(urllib.request.Request(f"{self.front_url}/limit/on", b"", method="POST"), timeout=10)
        started = time.monotonic()
        call = self.client.get_balances(CHAIN, NETWORK, self.wallet, ["WETH"])
        await self.refused("a node answering 429 to every call", call, "RATE_LIMITED", 429)
        if time.monotonic() - started < 3:
            sys.exit("answered RATE_LIMITED without retrying the reads first")
        urllib.request.urlopen(urllib.request.Request(f"{self.front_url}/limit/off", b"", method="POST"), timeout=10)
        balances = await self.client.get_balances(CHAIN, NETWORK, self.wallet, ["WETH"])
        if Decimal(str(balances["balances"]["WETH"])) <= 0:
            sys.exit(f"the same request after the node recovered: {balances}")
        print("ok the same request succeeds once the node recovers", flush=True)


async def run(client_class, trade_type, rules, args):
    node_url, front_url, private_key, mover, v2_router, swap_router = args
    client = client_class.get_instance()
    wallet = (await client.add_wallet(CHAIN, private_key=private_key, set_default=True))["address"]
    s = Run(client, rules, trade_type, node_url, front_url, wallet, mover)
    tokens = {t["symbol"]: t["address"] for t in (await client.get_tokens(CHAIN, NETWORK))["tokens"]}
    for spender in ["uniswap/router", "uniswap/amm", "uniswap/clmm/swap"]:
        await client.approve_token(NETWORK, wallet, "WETH", spender)
    await s.request_shape()
    await s.funds_and_simulation(tokens["USDC"])
    await s.quote_then_market_moves("WETH", "1", "100")
    await s.quote_then_market_moves("ETH", "1", "100")
    await s.mined_past_slippage("amm", [s.v2_sell_eth(tokens["WETH"], tokens["USDC"])], v2_router)
    v3_pool = (await client.get_pool("WETH-USDC", CHAIN, NETWORK, "clmm", "uniswap"))["address"]
    await s.mined_past_slippage("clmm", [s.v3_sell_eth(tokens["WETH"], tokens["USDC"])], swap_router, v3_pool)
    await s.timeout_then_poll()
    await s.rate_limited()
    await client._http_client(client._gateway_config).close()
    print("every error path passed", flush=True)


def main():
    cache_dir, gateway_url, *args = sys.argv[1:]
    directory = client_session.fetch_client(cache_dir)
    trade_type = client_session.install_stand_ins(gateway_url, cache_dir)
    client_class = client_session.load_client(directory)
    gateway_error = sys.modules["hummingbot.core.gateway.gateway_error"].GatewayError
    rules = client_rules(directory, gateway_error)
    asyncio.run(run(client_class, trade_type, rules, args))


if __name__ == "__main__":
    main()
