"""Drives the gateway with Hummingbot's own Gateway client (hummingbot==20260922 from PyPI).

The client's three modules (gateway_http_client.py, gateway_models.py, gateway_error.py) are taken unchanged
from the sdist; what they import from the rest of Hummingbot (config maps, connector registry, logger, the
Cython core) is replaced by small stand-ins below, since none of it takes part in talking to the gateway.

usage: client_session.py CACHE_DIR GATEWAY_URL PRIVATE_KEY [HUMMINGBOT_ROOT]
With an https:// URL the client connects the way Hummingbot does in production: mutual TLS with
HUMMINGBOT_ROOT/certs/{ca_cert,client_cert,client_key}.pem, the key opened with HUMMINGBOT_PASSWORD.
Exits non-zero, naming the step, when a call fails or answers what the client cannot use.
"""
import asyncio
import enum
import hashlib
import importlib.util
import io
import json
import logging
import os
import pathlib
import re
import sys
import tarfile
import types
import urllib.request
from decimal import Decimal

VERSION = "20260922"
# Each module taken from the sdist, by the package folder it is in.
CLIENT_FILES = {
    "gateway_http_client.py": "hummingbot/core/gateway",
    "gateway_models.py": "hummingbot/core/gateway",
    "gateway_error.py": "hummingbot/core/gateway",
    "gateway_base.py": "hummingbot/connector/gateway",
    "gateway_utils.py": "hummingbot/strategy_v2/executors",
}


def fetch_client(cache_dir: str) -> str:
    """The client modules from the sdist, downloaded once and checked against the index's sha256."""
    target = os.path.join(cache_dir, f"hummingbot-{VERSION}")
    if all(os.path.exists(os.path.join(target, name)) for name in CLIENT_FILES):
        return target
    index = os.environ.get("PIP_INDEX_URL", "https://pypi.org/simple").rstrip("/")
    page = urllib.request.urlopen(f"{index}/hummingbot/", timeout=60).read().decode()
    match = re.search(rf'href="([^"]*hummingbot-{VERSION}\.tar\.gz)#sha256=([0-9a-f]+)"', page)
    if not match:
        sys.exit(f"hummingbot-{VERSION}.tar.gz is not on {index}")
    url, digest = match.group(1), match.group(2)
    if url.startswith("/") or not url.startswith("http"):
        url = urllib.parse.urljoin(f"{index}/hummingbot/", url)
    data = urllib.request.urlopen(url, timeout=300).read()
    if hashlib.sha256(data).hexdigest() != digest:
        sys.exit("the downloaded sdist does not match the index's sha256")
    os.makedirs(target, exist_ok=True)
    with tarfile.open(fileobj=io.BytesIO(data)) as archive:
        for member in archive.getmembers():
            name = os.path.basename(member.name)
            if name in CLIENT_FILES and member.name.endswith(f"{CLIENT_FILES[name]}/{name}"):
                with open(os.path.join(target, name), "wb") as out:
                    out.write(archive.extractfile(member).read())
    return target


def module(name: str, **attributes) -> types.ModuleType:
    mod = types.ModuleType(name)
    mod.__dict__.update(attributes)
    sys.modules[name] = mod
    return mod


def install_stand_ins(gateway_url: str, hummingbot_root: str):
    scheme, host, port = re.match(r"(https?)://([^:/]+):(\d+)", gateway_url).groups()

    class GatewayConfigMap:
        gateway_api_host = host
        gateway_api_port = port
        gateway_use_ssl = scheme == "https"
        gateway_api_timeout = 60

    class Password:
        @staticmethod
        def get_secret_value():
            return os.environ["HUMMINGBOT_PASSWORD"]

    class TradeType(enum.Enum):
        BUY = 1
        SELL = 2
        RANGE = 3

    class AllConnectorSettings:
        _settings = {}

        @classmethod
        def get_connector_settings(cls):
            return cls._settings

    for package in ["hummingbot", "hummingbot.client", "hummingbot.client.config", "hummingbot.core",
                    "hummingbot.core.data_type", "hummingbot.core.event", "hummingbot.core.utils",
                    "hummingbot.core.gateway"]:
        module(package, __path__=[])
    sys.modules["hummingbot"].root_path = lambda: pathlib.Path(hummingbot_root)
    module("hummingbot.client.config.client_config_map", GatewayConfigMap=GatewayConfigMap)
    module("hummingbot.client.config.security",
           Security=type("Security", (), {"secrets_manager": types.SimpleNamespace(password=Password)}))
    module("hummingbot.client.settings", GATEWAY_CHAINS=[], GATEWAY_DEXS=[], GATEWAY_ETH_DEXS=[], GATEWAY_NAMESPACES=[],
           AllConnectorSettings=AllConnectorSettings, ConnectorSetting=dict,
           ConnectorType=enum.Enum("ConnectorType", "GATEWAY_DEX"))
    module("hummingbot.core.data_type.trade_fee", TradeFeeSchema=type("TradeFeeSchema", (), {}))
    module("hummingbot.core.event.events", TradeType=TradeType)
    module("hummingbot.core.utils.async_utils", safe_ensure_future=asyncio.ensure_future)
    module("hummingbot.core.utils.gateway_config_utils", build_config_namespace_keys=lambda keys, config: None)
    class HummingbotLogger(logging.Logger):
        """Hummingbot's logger: its `network` level is what the client logs failed calls with."""

        def network(self, log_msg, app_warning_msg=None, *args, **kwargs):
            self.debug(log_msg)

    logging.setLoggerClass(HummingbotLogger)
    module("hummingbot.logger", HummingbotLogger=HummingbotLogger)
    return TradeType


def load_client(directory: str):
    for name in ["gateway_error", "gateway_models", "gateway_http_client"]:
        full = f"hummingbot.core.gateway.{name}"
        spec = importlib.util.spec_from_file_location(full, os.path.join(directory, f"{name}.py"))
        loaded = importlib.util.module_from_spec(spec)
        sys.modules[full] = loaded
        spec.loader.exec_module(loaded)
    return sys.modules["hummingbot.core.gateway.gateway_http_client"].GatewayHttpClient


AMOUNT_KEY = re.compile(r"amount|price|balance|fee|slippage|impact|percent|approvals", re.IGNORECASE)


def numbers_in_amounts(value, path="") -> list:
    """Every amount, price, fee or balance of an answer written as a JSON number (which Python reads as a float),
    by its path. A route step's `fee` is its pool's fee tier, an integer (hundredths of a basis point)."""
    found = []
    if isinstance(value, dict):
        step = "poolAddress" in value and "tokenIn" in value and "type" in value
        for key, inner in value.items():
            here = f"{path}.{key}"
            numeric = isinstance(inner, (int, float)) and not isinstance(inner, bool)
            if numeric and AMOUNT_KEY.search(key) and not (step and key == "fee"):
                found.append(here)
            elif isinstance(inner, dict) and AMOUNT_KEY.search(key):
                found += [f"{here}.{k}" for k, v in inner.items() if isinstance(v, (int, float)) and not isinstance(v, bool)]
            else:
                found += numbers_in_amounts(inner, here)
    elif isinstance(value, list):
        for index, inner in enumerate(value):
            found += numbers_in_amounts(inner, f"{path}[{index}]")
    return found


class Session:
    def __init__(self, client, models):
        self.client = client
        self.models = models
        self.steps = 0
        # The newest block an answer was computed at: no later answer may be older.
        self.newest_block = 0

    async def step(self, name, call, check=lambda response: True, model=None):
        """One call: it must succeed, validate against the client's own response model when it has one (as a bot
        using the models would), and pass `check`."""
        try:
            response = await call
        except Exception as error:
            sys.exit(f"step '{name}' failed: {error}")
        if model is not None:
            try:
                for each in (response if isinstance(response, list) else [response]):
                    getattr(self.models, model).model_validate(each)
            except Exception as error:
                sys.exit(f"step '{name}': the answer does not fit the client's {model}: {error}\n{json.dumps(response)[:2000]}")
        if not check(response):
            sys.exit(f"step '{name}' answered what the client cannot use: {json.dumps(response)[:2000]}")
        numbers = numbers_in_amounts(response)
        if numbers:
            sys.exit(f"step '{name}' wrote amounts as JSON numbers, not decimal strings: {numbers}")
        block = response.get("blockNumber", response.get("currentBlockNumber")) if isinstance(response, dict) else None
        if isinstance(block, int):
            if block < self.newest_block:
                sys.exit(f"step '{name}' answered at block {block}, older than an earlier answer's {self.newest_block}")
            self.newest_block = block
        self.steps += 1
        print(f"ok {name}", flush=True)
        return response

    async def confirmed(self, name, call, model):
        response = await self.step(name, call, lambda r: r.get("status") == 1 and r.get("signature", "").startswith("0x"), model)
        poll = await self.step(f"{name}: poll", self.client.get_transaction_status("ethereum", "devnet", response["signature"]),
                               lambda r: r.get("txStatus") == 1 and "error" in r and r.get("fee") is not None, "PollResponse")
        return response, poll


def floating(value: float) -> Decimal:
    """An amount as a bot computes it: a float (e.g. base × price), with all its digits."""
    return Decimal(repr(value))


async def run(client_class, trade_type, private_key):
    client = client_class.get_instance()
    s = Session(client, sys.modules["hummingbot.core.gateway.gateway_models"])
    network, chain = "devnet", "ethereum"
    await s.step("ping", client.ping_gateway(), lambda ok: ok is True)
    await s.step("connectors", client.get_connectors(), lambda r: any(c["name"] == "uniswap" and "clmm" in c["trading_types"] for c in r["connectors"]))
    await s.step("chains", client.get_chains(), lambda r: any(c["chain"] == chain and network in c["networks"] for c in r["chains"]))
    await s.step("namespaces", client.get_namespaces(), lambda r: "ethereum-devnet" in r["namespaces"])
    await s.step("native currency", client.get_native_currency_symbol(chain, network), lambda symbol: symbol == "ETH")
    await s.step("status", client.get_network_status(chain, network), lambda r: r["currentBlockNumber"] > 0, "StatusResponse")
    wallet = (await s.step("add wallet", client.add_wallet(chain, private_key=private_key, set_default=True), lambda r: r["address"].startswith("0x")))["address"]
    await s.step("wallets", client.get_wallets(), lambda r: wallet in r[0]["walletAddresses"])
    await s.step("default wallet", client.get_default_wallet_for_chain(chain), lambda address: address == wallet)
    await s.step("balances", client.get_balances(chain, network, wallet, ["ETH", "WETH", "USDC"]),
                 lambda r: float(r["balances"]["WETH"]) > 0 and float(r["balances"]["USDC"]) > 0, "BalanceResponse")
    await s.step("estimate gas", client.estimate_gas(chain, network), lambda r: float(r["fee"]) > 0 and r["feeAsset"] == "ETH", "EstimateGasResponse")
    await s.step("tokens", client.get_tokens(chain, network),
                 lambda r: any(t["symbol"] == "USDC" for t in r["tokens"]) and all(s.models.Token.model_validate(t) for t in r["tokens"]))
    await s.step("token", client.get_token("USDC", chain, network), lambda r: r["token"]["decimals"] == 6)
    await s.step("wrap", client.api_request("post", "chains/ethereum/wrap", {"network": network, "address": wallet, "amount": "1"}),
                 lambda r: r["status"] == 1, "ChainWrapResponse")
    for dex in ["uniswap", "pancakeswap"]:
        await trade(s, client, trade_type, dex, network, chain, wallet)
    await create_pools(s, client, network, chain, wallet)
    await s.step("pool list", client.list_pools(chain, network, connector="uniswap"), lambda r: len(r) >= 7)
    await s.step("config update", client.update_config("uniswap", "slippagePct", 2), lambda r: "updated" in r["message"])
    await client._http_client(client._gateway_config).close()
    print(f"{s.steps} steps passed", flush=True)


async def trade(s, client, trade_type, dex, network, chain, wallet):
    """Approvals, swaps of every trading type, and the V3 and V2 liquidity lifecycles through one connector, with
    amounts computed as floats the way a bot computes them."""
    for spender in [f"{dex}/clmm/swap", f"{dex}/clmm", f"{dex}/amm", f"{dex}/router"]:
        for token in ["WETH", "USDC"]:
            await s.confirmed(f"{dex}: approve {token} for {spender}", client.approve_token(network, wallet, token, spender), "ApproveResponse")
    await s.step(f"{dex}: allowances", client.get_allowances(chain, network, wallet, ["WETH", "USDC"], f"{dex}/clmm/swap"),
                 lambda r: float(r["approvals"]["USDC"]) > 1e30, "AllowancesResponse")

    for trading_type in ["clmm", "amm", "router"]:
        for side in [trade_type.SELL, trade_type.BUY]:
            quote_model = "RouterQuoteSwapResponse" if trading_type == "router" else "ChainQuoteSwapResponse"
            quote = await s.step(f"{dex}: {trading_type} quote {side.name}", client.quote_swap(
                network, "WETH", "USDC", Decimal("0.5"), side, dex=dex, trading_type=trading_type, chain=chain),
                lambda r: float(r["price"]) > 1000 and float(r["amountIn"]) > 0 and float(r["amountOut"]) > 0, quote_model)
            executed, _ = await s.confirmed(f"{dex}: {trading_type} execute {side.name}", client.execute_swap(
                network, "WETH", "USDC", side, Decimal("0.5"), dex=dex, trading_type=trading_type,
                wallet_address=wallet, chain=chain), "ChainExecuteSwapResponse")
            moved = executed["data"]["amountOut"] if side == trade_type.SELL else executed["data"]["amountIn"]
            if abs(float(moved) / float(quote["amountOut" if side == trade_type.SELL else "amountIn"]) - 1) > 0.001:
                sys.exit(f"{dex} {trading_type} {side.name}: executed {moved}, quoted {quote}")
        # USDC for WETH worth a float: more decimals than USDC has, taken rounded down.
        usdc = floating(0.01 * float(quote["price"]))
        executed, _ = await s.confirmed(f"{dex}: {trading_type} sell {usdc} USDC", client.execute_swap(
            network, "USDC", "WETH", trade_type.SELL, usdc, dex=dex, trading_type=trading_type, wallet_address=wallet,
            chain=chain), "ChainExecuteSwapResponse")
        if Decimal(str(executed["data"]["amountIn"])) != usdc.quantize(Decimal("0.000001"), rounding="ROUND_DOWN"):
            sys.exit(f"{dex} {trading_type}: {usdc} USDC spent {executed['data']['amountIn']}, not the amount rounded down")
    quote = await s.step(f"{dex}: router quote for execute-quote", client.quote_swap(
        network, "WETH", "USDC", Decimal("0.25"), trade_type.SELL, dex=dex, trading_type="router", chain=chain),
        lambda r: bool(r.get("quoteId")), "RouterQuoteSwapResponse")
    await s.confirmed(f"{dex}: execute quote", client.execute_quote(dex, network, quote["quoteId"], wallet, chain=chain), "ChainExecuteSwapResponse")

    pool = (await s.step(f"{dex}: clmm pool by pair", client.get_pool("WETH-USDC", chain, network, "clmm", dex), lambda r: r["address"].startswith("0x")))["address"]
    info = await s.step(f"{dex}: clmm pool info", client.pool_info(network, pool, dex, "clmm", chain=chain),
                        lambda r: r["address"] == pool and float(r["price"]) > 1000, "ClmmPoolInfo")
    await s.step(f"{dex}: clmm pool info with bins", client.api_request("get", "trading/clmm/pool-info", {
        "chainNetwork": f"{chain}-{network}", "connector": dex, "poolAddress": pool, "binCount": "5"}),
        lambda r: 0 < len(r["bins"]) <= 5 and all(float(b["price"]) > 0 for b in r["bins"]), "ClmmPoolInfo")
    fetched = await s.step(f"{dex}: clmm fetch pools", client.api_request("get", "trading/clmm/fetch-pools", {
        "chainNetwork": f"{chain}-{network}", "connector": dex, "tokenA": "WETH", "tokenB": "USDC", "limit": "10"}),
        lambda r: r["total"] >= 2 and any(p["address"] == pool for p in r["pools"]) and all(float(p["price"]) > 1000 for p in r["pools"]),
        "ClmmFetchPoolsResponse")
    if [float(p["tvl"]) for p in fetched["pools"]] != sorted((float(p["tvl"]) for p in fetched["pools"]), reverse=True):
        sys.exit(f"{dex}: fetch-pools is not ordered by what the pools hold: {fetched}")
    await clmm_positions(s, client, dex, network, chain, wallet, pool, float(info["price"]), "clmm")

    if dex == "uniswap":
        await v4_swaps(s, client, trade_type, dex, network, chain, wallet)

    pair = (await s.step(f"{dex}: amm pool by pair", client.get_pool("WETH-USDC", chain, network, "amm", dex), lambda r: r["address"].startswith("0x")))["address"]
    info = await s.step(f"{dex}: amm pool info", client.pool_info(network, pair, dex, "amm", chain=chain), lambda r: float(r["price"]) > 1000, "AmmPoolInfo")
    # The quote amount as the client computes it: base × price, a float with more decimals than USDC has.
    quote_amount = 1.0 * float(info["price"])
    await s.step(f"{dex}: amm quote liquidity", client.amm_quote_liquidity(network, pair, 1.0, quote_amount, dex, chain=chain),
                 lambda r: float(r["baseTokenAmount"]) > 0, "AmmQuoteLiquidityResponse")
    await s.confirmed(f"{dex}: amm add", client.amm_add_liquidity(network, wallet, pair, 1.0, quote_amount, dex, chain=chain), "AmmAddLiquidityResponse")
    await s.step(f"{dex}: amm position info", client.amm_position_info(network, wallet, pair, dex, chain=chain), lambda r: float(r["lpTokenAmount"]) > 0, "AmmPositionInfo")
    await s.step(f"{dex}: amm positions owned", client.clmm_positions_owned(network, wallet, dex, trading_type="amm", chain=chain),
                 lambda r: any(p["poolAddress"] == pair and float(p["lpTokenAmount"]) > 0 for p in r), "AmmPositionInfo")
    await s.confirmed(f"{dex}: amm remove", client.amm_remove_liquidity(network, wallet, pair, 100.0, dex, chain=chain), "AmmRemoveLiquidityResponse")
    listed = await s.step(f"{dex}: add a listed pool again", client.add_pool(chain, dex, network, {
        "address": pool, "type": "clmm", "baseTokenAddress": info["baseTokenAddress"], "quoteTokenAddress": info["quoteTokenAddress"]}),
        lambda r: "updated" in r["message"])


async def create_pools(s, client, network, chain, wallet):
    """Gateway v2.17's create-pool: a V2 pair seeded at 15 USDC per LINK, a V3 pool started at 15."""
    await s.confirmed("uniswap: approve LINK for uniswap/amm", client.approve_token(network, wallet, "LINK", "uniswap/amm"), "ApproveResponse")
    target = {"chainNetwork": f"{chain}-{network}", "connector": "uniswap", "walletAddress": wallet, "baseToken": "LINK", "quoteToken": "USDC"}
    await s.step("uniswap: amm create pool", client.api_request("post", "trading/amm/create-pool", {
        **target, "baseTokenAmount": "10", "quoteTokenAmount": "150"}),
        lambda r: r["status"] == 1 and r["price"] == "15" and r["data"]["baseTokenAmountAdded"] == "10", "AmmCreatePoolResponse")
    await s.step("uniswap: clmm create pool", client.api_request("post", "trading/clmm/create-pool", {
        **target, "feeBps": 30, "initialPrice": "15"}),
        lambda r: r["status"] == 1 and abs(float(r["price"]) / 15 - 1) < 0.0001, "ClmmCreatePoolResponse")


async def clmm_positions(s, client, dex, network, chain, wallet, pool, price, label):
    """The clmm position lifecycle on `pool`, its amounts computed as floats from the pool's price."""
    await s.step(f"{dex}: {label} quote position", client.clmm_quote_position(network, pool, price * 0.9, price * 1.1, dex, base_token_amount=1.0, chain=chain),
                 lambda r: float(r["quoteTokenAmount"]) > 0, "ClmmQuoteLiquidityResponse")
    opened, _ = await s.confirmed(f"{dex}: {label} open", client.clmm_open_position(network, wallet, pool, price * 0.9, price * 1.1, dex, base_token_amount=1.0, chain=chain), "ClmmOpenPositionResponse")
    position = opened["data"]["positionAddress"]
    await s.step(f"{dex}: {label} positions owned", client.clmm_positions_owned(network, wallet, dex, chain=chain), lambda r: any(p["address"] == position and p["poolAddress"] == pool for p in r), "ClmmPositionInfo")
    await s.step(f"{dex}: {label} position info", client.clmm_position_info(network, position, dex, chain=chain), lambda r: float(r["baseTokenAmount"]) > 0 and r["poolAddress"] == pool, "ClmmPositionInfo")
    await s.confirmed(f"{dex}: {label} add", client.clmm_add_liquidity(network, wallet, position, dex, quote_token_amount=0.1 * price, chain=chain), "ClmmAddLiquidityResponse")
    await s.confirmed(f"{dex}: {label} collect fees", client.clmm_collect_fees(network, wallet, position, dex, chain=chain), "ClmmCollectFeesResponse")
    await s.confirmed(f"{dex}: {label} remove", client.clmm_remove_liquidity(network, wallet, position, 50.0, dex, chain=chain), "ClmmRemoveLiquidityResponse")
    await s.confirmed(f"{dex}: {label} close", client.clmm_close_position(network, wallet, position, dex, chain=chain), "ClmmClosePositionResponse")


async def v4_swaps(s, client, trade_type, dex, network, chain, wallet):
    """The clmm swaps and position lifecycle on Uniswap V4's ETH/USDC pool, which the client finds by its pair like
    any other: native ETH in and out, the pool named by its 32-byte id."""
    pool = (await s.step(f"{dex}: V4 clmm pool by pair", client.get_pool("ETH-USDC", chain, network, "clmm", dex),
                         lambda r: len(r["address"]) == 66))["address"]
    info = await s.step(f"{dex}: V4 clmm pool info", client.pool_info(network, pool, dex, "clmm", chain=chain),
                        lambda r: r["address"] == pool and float(r["price"]) > 1000, "ClmmPoolInfo")
    for side in [trade_type.SELL, trade_type.BUY]:
        quote = await s.step(f"{dex}: V4 clmm quote ETH {side.name}", client.quote_swap(
            network, "ETH", "USDC", Decimal("0.5"), side, dex=dex, trading_type="clmm", chain=chain),
            lambda r: r["poolAddress"] == pool and float(r["price"]) > 1000, "ChainQuoteSwapResponse")
        executed, _ = await s.confirmed(f"{dex}: V4 clmm execute ETH {side.name}", client.execute_swap(
            network, "ETH", "USDC", side, Decimal("0.5"), dex=dex, trading_type="clmm", wallet_address=wallet,
            chain=chain), "ChainExecuteSwapResponse")
        field = "amountOut" if side == trade_type.SELL else "amountIn"
        if abs(float(executed["data"][field]) / float(quote[field]) - 1) > 0.001:
            sys.exit(f"{dex} V4 {side.name}: executed {executed['data'][field]}, quoted {quote[field]}")
    await clmm_positions(s, client, dex, network, chain, wallet, pool, float(info["price"]), "V4 clmm")


def main():
    cache_dir, gateway_url, private_key = sys.argv[1:4]
    hummingbot_root = sys.argv[4] if len(sys.argv) > 4 else cache_dir
    directory = fetch_client(cache_dir)
    trade_type = install_stand_ins(gateway_url, hummingbot_root)
    client_class = load_client(directory)
    asyncio.run(run(client_class, trade_type, private_key))


if __name__ == "__main__":
    main()
