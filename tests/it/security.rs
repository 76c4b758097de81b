//! The API surface against a hostile caller: web pages reaching a plain-HTTP gateway (DNS rebinding, foreign
//! origins).

use reqwest::StatusCode;
use serde_json::json;

use crate::common::{self, TestGateway, assert_error_body};

#[tokio::test]
async fn plain_http_answers_only_loopback_hosts_and_refuses_foreign_web_pages() {
    let devnet = common::devnet().await;
    let gw = TestGateway::on_devnet(&devnet).await;
    let wallet = devnet.accounts()[1];
    let nonce =
        || async { alloy::providers::Provider::get_transaction_count(&common::node(&devnet), wallet).await.unwrap() };
    let before = nonce().await;
    let port = gw.gateway.addr.port();
    let http = reqwest::Client::new();
    let wrap = json!({"network": "devnet", "amount": "0.01"});

    // A page that rebinds its own name to 127.0.0.1: the request carries that name.
    let rebound = http
        .post(gw.url("/chains/ethereum/wrap"))
        .header("Host", format!("attacker.example:{port}"))
        .json(&wrap)
        .send()
        .await
        .unwrap();
    let (status, body) = common::into_json(rebound).await;
    assert_error_body(status, &body, StatusCode::FORBIDDEN, "allowedHosts");
    assert_eq!(body["code"], "HOST_NOT_ALLOWED");
    // A page elsewhere posting to 127.0.0.1 directly: its Origin gives it away.
    let foreign = http.post(gw.url("/chains/ethereum/wrap")).header("Origin", "http://attacker.example").json(&wrap);
    let (status, body) = common::into_json(foreign.send().await.unwrap()).await;
    assert_error_body(status, &body, StatusCode::FORBIDDEN, "corsOrigins");
    assert_eq!(nonce().await, before, "nothing was signed");
    // A GET a page elsewhere makes without an Origin (an image, a link): the browser marks it cross-site.
    let status_url = gw.url("/chains/ethereum/status?network=devnet");
    for (site, expected) in
        [("cross-site", StatusCode::FORBIDDEN), ("same-origin", StatusCode::OK), ("none", StatusCode::OK)]
    {
        let answer = http.get(&status_url).header("Sec-Fetch-Site", site).send().await.unwrap();
        let (status, body) = common::into_json(answer).await;
        assert_eq!(status, expected, "{site}: {body}");
        if status == StatusCode::FORBIDDEN {
            assert_eq!(body["code"], "ORIGIN_NOT_ALLOWED", "{body}");
            assert!(body["message"].as_str().unwrap().contains("Sec-Fetch-Site"), "{body}");
        }
    }

    // Loopback names with their port, and the gateway's own pages (Swagger UI), are answered.
    for host in [format!("localhost:{port}"), format!("127.0.0.1:{port}"), "localhost".to_string()] {
        let answer =
            http.get(gw.url("/chains/ethereum/status?network=devnet")).header("Host", host.as_str()).send().await;
        assert_eq!(answer.unwrap().status(), StatusCode::OK, "{host}");
    }
    let same_origin = http
        .post(gw.url("/chains/ethereum/balances"))
        .header("Origin", format!("http://127.0.0.1:{port}"))
        .json(&json!({"network": "devnet", "tokens": ["ETH"]}));
    assert_eq!(same_origin.send().await.unwrap().status(), StatusCode::OK);

    // A name listed in the config is answered, at once.
    let (status, body) =
        gw.post("/config/update", json!({"namespace": "server", "path": "allowedHosts", "value": ["gateway"]})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let named = http.get(gw.url("/chains/ethereum/status?network=devnet")).header("Host", format!("gateway:{port}"));
    assert_eq!(named.send().await.unwrap().status(), StatusCode::OK);
    let (status, body) = gw
        .post("/config/update", json!({"namespace": "server", "path": "corsOrigins", "value": ["not an origin"]}))
        .await;
    assert_error_body(status, &body, StatusCode::BAD_REQUEST, "corsOrigins");
}

#[tokio::test]
async fn no_key_passphrase_or_node_credential_reaches_a_log_or_an_answer() {
    let devnet = common::devnet().await;
    let port = common::intercepting_node(devnet.rpc_url(), |_, _| common::Interception::Forward).await;
    let (user_password, path_key, query_key) = ("NodePassw0rd", "9aa3d95b3bc440fa88ea12eaa4456161", "QueryKey123");
    let node_url = format!("http://rpcuser:{user_password}@127.0.0.1:{port}/v3/{path_key}?apikey={query_key}");
    let conf = common::devnet_conf(std::slice::from_ref(&node_url));
    let passphrase = "correct horse battery staple";
    let key = devnet.private_key(1);
    let process =
        common::GatewayProcess::start(conf.path(), &[("GATEWAY_PASSPHRASE", passphrase), ("RUST_LOG", "trace")]);
    let url = process.url.clone();

    // A session, every answer kept.
    let http = reqwest::Client::new();
    let mut answers = String::new();
    let calls: Vec<(&str, &str, serde_json::Value)> = vec![
        ("POST", "/wallet/add", json!({"chain": "ethereum", "privateKey": key, "setDefault": true})),
        ("POST", "/chains/ethereum/balances", json!({"network": "devnet", "tokens": ["ETH", "WETH"]})),
        ("POST", "/chains/ethereum/wrap", json!({"network": "devnet", "amount": "0.5"})),
        (
            "POST",
            "/chains/ethereum/approve",
            json!({"network": "devnet", "token": "WETH", "spender": "uniswap/router"}),
        ),
        (
            "POST",
            "/trading/router/execute-swap",
            json!({"chainNetwork": "ethereum-devnet", "connector": "uniswap",
            "baseToken": "WETH", "quoteToken": "USDC", "amount": 0.1, "side": "SELL"}),
        ),
        ("GET", "/config", json!(null)),
        ("GET", "/config?namespace=ethereum-devnet", json!(null)),
        ("GET", "/chains/ethereum/status?network=devnet", json!(null)),
        ("POST", "/config/update", json!({"namespace": "ethereum-devnet", "path": "nodeURL", "value": [node_url]})),
        // The key pasted where an address goes, and a wallet added twice.
        ("POST", "/chains/ethereum/balances", json!({"network": "devnet", "address": key})),
        ("POST", "/wallet/add", json!({"chain": "ethereum", "privateKey": format!("{key}zz")})),
        ("GET", "/metrics", json!(null)),
    ];
    for (method, path, body) in calls {
        let request = match method {
            "GET" => http.get(format!("{url}{path}")),
            _ => http.post(format!("{url}{path}")).json(&body),
        };
        let answer = request.send().await.unwrap();
        let status = answer.status();
        let text = answer.text().await.unwrap();
        assert!(status.is_success() || status.is_client_error(), "{path}: {status} {text}");
        answers.push_str(&text);
    }
    // The key in every wrong shape, each with an Idempotency-Key (whose record keeps the answer for 24 h), and in
    // a query string.
    let bare = &key[2..];
    let shapes = [
        json!(key),
        json!(bare),
        json!([key]),
        json!({"chain": "ethereum", "privateKey": {"hex": key}}),
        json!({"chain": format!("mine:{key}"), "privateKey": key}),
        json!({"chain": "ethereum", "privateKey": format!("\"{key}\"")}),
        json!({"chain": "ethereum", "privateKey": key, "setDefault": bare}),
    ];
    for (index, shape) in shapes.iter().enumerate() {
        let request = http.post(format!("{url}/wallet/add")).header("Idempotency-Key", format!("shape-{index}"));
        let answer = request.json(shape).send().await.unwrap();
        assert!(answer.status().is_client_error(), "{index}: {}", answer.status());
        answers.push_str(&answer.text().await.unwrap());
    }
    for query in [format!("network={key}"), format!("network=x{bare}"), format!("network=devnet&address={bare}")] {
        let answer = http.get(format!("{url}/chains/ethereum/status?{query}")).send().await.unwrap();
        assert!(answer.status().is_client_error(), "{query}: {}", answer.status());
        answers.push_str(&answer.text().await.unwrap());
    }
    // The node goes down, credentials and all: the 503 names where, not who, and so does the log.
    let down = common::free_port();
    let failing = format!("http://rpcuser:{user_password}@127.0.0.1:{down}/v3/{path_key}?apikey={query_key}");
    let moved = json!({"namespace": "ethereum-devnet", "path": "nodeURL", "value": [failing]});
    let moved = http.post(format!("{url}/config/update")).json(&moved).send().await.unwrap();
    assert_eq!(moved.status(), StatusCode::OK);
    answers.push_str(&moved.text().await.unwrap());
    let balances = json!({"network": "devnet", "tokens": ["ETH"]});
    let (status, body) =
        common::into_json(http.post(format!("{url}/chains/ethereum/balances")).json(&balances).send().await.unwrap())
            .await;
    assert_error_body(status, &body, StatusCode::SERVICE_UNAVAILABLE, &format!("127.0.0.1:{down}"));
    answers.push_str(&body.to_string());
    assert!(answers.contains("\"status\":1"), "the session traded: {answers}");
    assert!(answers.contains("/v3/***"), "the node URL is shown masked");
    // SIGTERM: a clean stop, with every log line out.
    let (_, logs) = process.terminate();
    assert!(logs.contains("TRACE"), "trace logging was on");
    let basic = "cnBjdXNlcjpOb2RlUGFzc3cwcmQ="; // base64 of rpcuser:NodePassw0rd, as an Authorization header
    // Every table, as the database files hold them (the wallet's key is there encrypted, never in plain).
    let mut tables = Vec::new();
    for file in std::fs::read_dir(conf.path()).unwrap().map(|entry| entry.unwrap().path()) {
        if file.file_name().unwrap().to_string_lossy().starts_with("gateway.sqlite") {
            tables.extend(std::fs::read(&file).unwrap());
        }
    }
    let tables = String::from_utf8_lossy(&tables).to_ascii_lowercase();
    assert!(tables.contains("idempotency_keys"), "the database was read");
    for secret in [&key[2..], &key[2..18], &key[40..], passphrase, user_password, path_key, query_key, basic] {
        assert!(!answers.contains(secret), "an answer holds {secret}");
        let line = logs.lines().find(|line| line.contains(secret)).unwrap_or_default();
        assert!(!logs.contains(secret), "the logs hold {secret}: {line}");
        assert!(!tables.contains(&secret.to_ascii_lowercase()), "the database holds {secret}");
    }
}

#[tokio::test]
async fn what_clients_send_cannot_grow_the_gateway_without_bound() {
    let devnet = common::devnet().await;
    let gw = TestGateway::on_devnet(&devnet).await;
    // Made-up HTTP methods all count as one label.
    for i in 0..20 {
        let method = reqwest::Method::from_bytes(format!("FOO{i}").as_bytes()).unwrap();
        let _ = gw.client().request(method, gw.url("/chains/ethereum/status?network=devnet")).send().await.unwrap();
    }
    let metrics = gw.client().get(gw.url("/metrics")).send().await.unwrap().text().await.unwrap();
    assert!(!metrics.contains("method=\"FOO"), "every made-up method became a series");
    assert!(metrics.contains("method=\"OTHER\""), "{metrics}");

    // A config path of 100,000 parts (200 kB) once overflowed the stack: now a 400, and the gateway serves on.
    for namespace in ["server", "zeroex"] {
        let deep = json!({"namespace": namespace, "path": vec!["a"; 100_000].join("."), "value": 1});
        let (status, body) = gw.post("/config/update", deep).await;
        assert_error_body(status, &body, StatusCode::BAD_REQUEST, "at most 16 dot-separated parts");
        assert!(body.to_string().len() < 1000, "the answer does not carry the path back");
    }
    assert_eq!(gw.get("/").await.0, StatusCode::OK);

    // A pool is a pool of the connector's factory: PancakeSwap's pool and pair are refused under uniswap.
    let base = "chainNetwork=ethereum-devnet&connector=uniswap&baseToken=WETH&quoteToken=USDC&amount=1&side=SELL";
    let pancake_pool = "0x1ac1A8FEaAEa1900C4166dEeed0C11cC10669D36";
    let (status, body) = gw.get(&format!("/trading/clmm/quote-swap?{base}&poolAddress={pancake_pool}")).await;
    assert_error_body(status, &body, StatusCode::BAD_REQUEST, "is not a pool of this connector");
    let (_, pair) = gw.get("/pools/WETH-USDC?chainNetwork=ethereum-devnet&connector=pancakeswap&type=amm").await;
    let pancake_pair = pair["address"].as_str().unwrap();
    let (status, body) = gw.get(&format!("/trading/amm/quote-swap?{base}&poolAddress={pancake_pair}")).await;
    assert_error_body(status, &body, StatusCode::BAD_REQUEST, "is not a pool of this connector");
    let (status, _) = gw
        .get(&format!("/trading/clmm/quote-swap?{}&poolAddress={pancake_pool}", base.replace("uniswap", "pancakeswap")))
        .await;
    assert_eq!(status, StatusCode::OK, "under its own connector it quotes");

    // Token lists: symbols and names within bounds, and read a page at a time.
    let token = |symbol: &str, name: &str| {
        json!({"chainNetwork": "ethereum-devnet",
        "token": {"name": name, "symbol": symbol, "address": "0x1111111111111111111111111111111111111111", "decimals": 18}})
    };
    let (status, body) = gw.post("/tokens", token(&"S".repeat(33), "Long")).await;
    assert_error_body(status, &body, StatusCode::BAD_REQUEST, "token.symbol");
    // Look-alikes of a listed symbol: a Cyrillic С, a zero-width space, a space.
    for (symbol, named) in
        [("USDС", "U+0421 at position 4"), ("US\u{200B}DC", "U+200B at position 3"), ("US DC", "U+0020")]
    {
        let (status, body) = gw.post("/tokens", token(symbol, "Look-alike")).await;
        assert_error_body(status, &body, StatusCode::BAD_REQUEST, named);
    }
    // Decimals: the contract's own, whatever the caller says.
    let usdc = devnet.deployment().token("USDC").address.to_string();
    let mut wrong = token("USDX", "Wrong decimals");
    wrong["token"]["address"] = json!(usdc);
    let (status, body) = gw.post("/tokens", wrong).await;
    assert_error_body(status, &body, StatusCode::BAD_REQUEST, "is 18 but the contract at");
    assert!(body["message"].as_str().unwrap().ends_with("says 6"), "{body}");
    let (status, body) = gw.post("/tokens", token("LONG", &"n".repeat(200_000))).await;
    assert_error_body(status, &body, StatusCode::BAD_REQUEST, "token.name");
    assert!(body.to_string().len() < 1000, "the answer does not carry the name back");
    let (_, all) = gw.get("/tokens?chainNetwork=ethereum-devnet").await;
    let all: Vec<serde_json::Value> = all["tokens"].as_array().unwrap().clone();
    let mut paged = Vec::new();
    let mut cursor = String::new();
    loop {
        let (status, page) = gw.get(&format!("/tokens?chainNetwork=ethereum-devnet&limit=4&cursor={cursor}")).await;
        assert_eq!(status, StatusCode::OK, "{page}");
        paged.extend(page["tokens"].as_array().unwrap().iter().cloned());
        match page["nextCursor"].as_str() {
            Some(next) => cursor = next.to_string(),
            None => break,
        }
    }
    assert_eq!(paged, all);
}

/// The database's bound under a flood: router quotes are capped at `MAX_STORED_QUOTES` (about 2 kB each) and
/// idempotency keys at `MAX_IDEMPOTENCY_KEYS`, each keeping at most `KEPT_ANSWER_MAX_BYTES` of answer; a request's
/// body is never kept. 10,000 quotes and 500 requests of 1 MB stay within the README's bound.
#[tokio::test]
async fn a_flood_of_quotes_and_large_idempotent_requests_leaves_the_database_within_its_bound() {
    use futures::StreamExt;
    let devnet = common::devnet().await;
    let gw = TestGateway::on_devnet(&devnet).await;
    let quote = gw.url(
        "/trading/router/quote-swap?chainNetwork=ethereum-devnet&connector=uniswap&baseToken=WETH&quoteToken=USDC\
         &amount=1&side=SELL",
    );
    let answered = futures::stream::iter(0..10_000)
        .map(|_| gw.client().get(&quote).send())
        .buffer_unordered(8)
        .filter(|answer| std::future::ready(answer.as_ref().is_ok_and(|answer| answer.status() == StatusCode::OK)))
        .count()
        .await;
    assert_eq!(answered, 10_000);
    let body = json!({"chain": "ethereum", "privateKey": "f".repeat(1_000_000)}).to_string();
    let refused = futures::stream::iter(0..500)
        .map(|i| {
            let request = gw.client().post(gw.url("/wallet/add")).header("Idempotency-Key", format!("flood-{i}"));
            request.header("Content-Type", "application/json").body(body.clone()).send()
        })
        .buffer_unordered(4)
        .filter(|answer| {
            std::future::ready(answer.as_ref().is_ok_and(|answer| answer.status() == StatusCode::BAD_REQUEST))
        })
        .count()
        .await;
    assert_eq!(refused, 500);
    // The quote writer commits within milliseconds.
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    let conf = gw.stop().await;
    let size: u64 = ["gateway.sqlite", "gateway.sqlite-wal"]
        .iter()
        .filter_map(|file| std::fs::metadata(conf.path().join(file)).ok())
        .map(|meta| meta.len())
        .sum();
    let bound = 2_000 * gateway::storage::MAX_STORED_QUOTES as u64 * 5 / 4
        + (gateway::storage::KEPT_ANSWER_MAX_BYTES as u64 + 1_000) * gateway::storage::MAX_IDEMPOTENCY_KEYS as u64;
    eprintln!("database after the flood: {size} bytes (bound {bound})");
    assert!(size < 10_000 * 3_000 + 500 * 5_000, "{size} bytes: a request's body was kept");
    assert!(size < bound);
}

/// Every input bounded before any work, at its largest accepted size and at the first refused one: the refusal is
/// a 4xx naming the bound, the largest accepted is not refused for its size, and the gateway serves on.
#[tokio::test]
async fn every_bounded_input_is_taken_at_its_largest_size_and_refused_at_the_next() {
    let gw = TestGateway::start().await;
    let parts = |count: usize| vec!["a"; count].join(".");
    let update = |path: String| json!({"namespace": "server", "path": path, "value": 1});
    let nested = |depth: usize| {
        let value = format!("{}{}", "[".repeat(depth), "]".repeat(depth));
        format!(r#"{{"namespace": "server", "path": "logLevel", "value": {value}}}"#)
    };
    let token = |symbol: String, name: String, address: &str| json!({"chainNetwork": "ethereum-devnet", "token": {"name": name, "symbol": symbol, "address": address, "decimals": 18}});
    let body_of = |bytes: usize| {
        let (open, close) = (r#"{"chain": "ethereum", "privateKey": ""#, r#""}"#);
        format!("{open}{}{close}", "x".repeat(bytes - open.len() - close.len()))
    };
    let fetch = |limit: u32| {
        format!(
            "/trading/clmm/fetch-pools?chainNetwork=ethereum-devnet&connector=uniswap&tokenA=WETH&tokenB=USDC&limit={limit}"
        )
    };
    let limit = gateway::http::BODY_LIMIT_BYTES;
    let (max_parts, max_chars) = (gateway::config::UPDATE_PATH_MAX_SEGMENTS, gateway::config::UPDATE_PATH_MAX_CHARS);

    // (what, its largest accepted request, its first refused one, the status and words naming the bound)
    type Send<'a> = Box<dyn Fn() -> reqwest::RequestBuilder + 'a>;
    let post = |path: &str, body: String| {
        let request = gw.client().post(gw.url(path)).header("Content-Type", "application/json");
        request.body(body)
    };
    let cases: Vec<(&str, Send, Send, StatusCode, &str)> = vec![
        (
            "config path parts",
            Box::new(|| post("/config/update", update(parts(max_parts)).to_string())),
            Box::new(|| post("/config/update", update(parts(max_parts + 1)).to_string())),
            StatusCode::BAD_REQUEST,
            "dot-separated parts",
        ),
        (
            "config path characters",
            Box::new(|| post("/config/update", update("a".repeat(max_chars)).to_string())),
            Box::new(|| post("/config/update", update("a".repeat(max_chars + 1)).to_string())),
            StatusCode::BAD_REQUEST,
            "dot-separated parts",
        ),
        (
            "JSON depth",
            Box::new(|| post("/config/update", nested(126))),
            Box::new(|| post("/config/update", nested(127))),
            StatusCode::BAD_REQUEST,
            "recursion limit",
        ),
        (
            "body bytes",
            Box::new(|| post("/wallet/add", body_of(limit))),
            Box::new(|| post("/wallet/add", body_of(limit + 1))),
            StatusCode::PAYLOAD_TOO_LARGE,
            "length limit exceeded",
        ),
        (
            "Idempotency-Key characters",
            Box::new(|| {
                post("/config/update", update("logLevel".into()).to_string()).header("Idempotency-Key", "k".repeat(255))
            }),
            Box::new(|| {
                post("/config/update", update("logLevel".into()).to_string()).header("Idempotency-Key", "k".repeat(256))
            }),
            StatusCode::BAD_REQUEST,
            "1 to 255",
        ),
        (
            "token symbol characters",
            Box::new(|| {
                post(
                    "/tokens",
                    token("S".repeat(32), "n".into(), "0x1111111111111111111111111111111111111111").to_string(),
                )
            }),
            Box::new(|| {
                post(
                    "/tokens",
                    token("T".repeat(33), "n".into(), "0x2222222222222222222222222222222222222222").to_string(),
                )
            }),
            StatusCode::BAD_REQUEST,
            "1 to 32",
        ),
        (
            "token name characters",
            Box::new(|| {
                post(
                    "/tokens",
                    token("N1".into(), "n".repeat(128), "0x3333333333333333333333333333333333333333").to_string(),
                )
            }),
            Box::new(|| {
                post(
                    "/tokens",
                    token("N2".into(), "n".repeat(129), "0x4444444444444444444444444444444444444444").to_string(),
                )
            }),
            StatusCode::BAD_REQUEST,
            "at most 128",
        ),
        (
            "fetch-pools limit",
            Box::new(|| gw.client().get(gw.url(&fetch(1000)))),
            Box::new(|| gw.client().get(gw.url(&fetch(1001)))),
            StatusCode::BAD_REQUEST,
            "1 to 1000",
        ),
    ];
    for (what, largest, refused, status, words) in cases {
        let names_the_bound = |body: &serde_json::Value| body["message"].as_str().is_some_and(|m| m.contains(words));
        let (got, body) = common::into_json(largest().send().await.unwrap()).await;
        assert!(got != status || !names_the_bound(&body), "{what}: the largest accepted was refused: {body}");
        let (got, body) = common::into_json(refused().send().await.unwrap()).await;
        assert!(got == status && names_the_bound(&body), "{what}: {body}");
        assert_eq!(gw.get("/").await.0, StatusCode::OK, "{what}: still serving");
    }
    gw.stop().await;
}

#[tokio::test]
async fn wallets_kept_with_a_weaker_key_derivation_are_encrypted_anew_at_the_next_start() {
    let devnet = common::devnet().await;
    let conf = common::devnet_conf(&[devnet.rpc_url()]);
    let signer: alloy::signers::local::PrivateKeySigner = devnet.private_key(1).parse().unwrap();
    // As an earlier version stored it: eth-keystore's default scrypt cost, 2^13.
    let dir = tempfile::TempDir::new().unwrap();
    let key = signer.credential().to_bytes();
    alloy::signers::local::PrivateKeySigner::encrypt_keystore(
        dir.path(),
        &mut rand_rng(),
        key,
        common::PASSPHRASE,
        Some("k"),
    )
    .unwrap();
    let old = std::fs::read_to_string(dir.path().join("k")).unwrap();
    let storage = gateway::storage::Storage::connect(&gateway::storage::default_url(conf.path())).await.unwrap();
    let row = gateway::storage::WalletRow {
        chain: "ethereum".into(),
        address: signer.address().to_checksum(None),
        keystore: Some(old),
    };
    storage.insert_wallet(&row).await.unwrap();
    storage.close().await;

    let gw = TestGateway::start_in(conf, None, common::PASSPHRASE).await.unwrap();
    let stored = gw.gateway.state.storage().wallets("ethereum").await.unwrap();
    let keystore: serde_json::Value = serde_json::from_str(stored[0].keystore.as_deref().unwrap()).unwrap();
    assert_eq!(keystore["crypto"]["kdfparams"]["n"], 131072, "{keystore}");
    let (status, body) = gw
        .post("/chains/ethereum/wrap", json!({"network": "devnet", "address": signer.address(), "amount": "0.01"}))
        .await;
    assert_eq!((status, body["status"].as_i64()), (StatusCode::OK, Some(1)), "the same key signs: {body}");
}

fn rand_rng() -> impl rand::RngCore + rand::CryptoRng {
    rand::rngs::OsRng
}

/// A node that takes connections and never answers, as a hung or overloaded provider does.
async fn silent_node() -> u16 {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            held.push(socket);
        }
    });
    port
}

#[tokio::test]
async fn a_node_that_hangs_or_is_down_costs_a_504_one_log_line_and_never_a_stuck_stop() {
    use std::io::Write;
    let silent = silent_node().await;
    let down = common::free_port();
    let conf = common::devnet_conf(&[format!("http://127.0.0.1:{down}")]);
    let config = gateway::config::Config::load(conf.path()).unwrap();
    config.update("server", "requestTimeoutSeconds", json!(2)).unwrap();
    let process = common::GatewayProcess::start(conf.path(), &[]);
    let http = reqwest::Client::new();
    let balances =
        json!({"network": "devnet", "address": "0x70997970C51812dc3A010C7d01b50e0d17dc79C8", "tokens": ["ETH"]});
    let post = |path: &str, body: &serde_json::Value| http.post(format!("{}{path}", process.url)).json(body).send();

    // A node that is down: every request says so at once, and the log says so once.
    for _ in 0..8 {
        let (status, body) = common::into_json(post("/chains/ethereum/balances", &balances).await.unwrap()).await;
        assert_error_body(status, &body, StatusCode::SERVICE_UNAVAILABLE, "127.0.0.1");
    }
    // A node that takes the request and never answers: the client hears 504 when its time is up.
    let silent_url =
        json!({"namespace": "ethereum-devnet", "path": "nodeURL", "value": [format!("http://127.0.0.1:{silent}")]});
    assert_eq!(post("/config/update", &silent_url).await.unwrap().status(), StatusCode::OK);
    let (status, body) = common::into_json(post("/chains/ethereum/balances", &balances).await.unwrap()).await;
    assert_error_body(status, &body, StatusCode::GATEWAY_TIMEOUT, "server.requestTimeoutSeconds");
    assert_eq!(body["code"], "TIMEOUT");

    // Stopping while a request waits on the silent node and a client never finishes its request's head.
    let waiting = tokio::spawn(post("/chains/ethereum/balances", &balances));
    let mut half = std::net::TcpStream::connect(process.url.trim_start_matches("http://")).unwrap();
    half.write_all(b"POST /chains/ethereum/balances HTTP/1.1\r\nHost: 127.0.0.1\r\n").unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    let stopped = tokio::task::spawn_blocking(|| process.terminate());
    let (clean, logs) = tokio::time::timeout(std::time::Duration::from_secs(60), stopped)
        .await
        .expect("the gateway stops though a client holds a connection open")
        .unwrap();
    assert!(clean, "a clean exit: {logs}");
    assert!(logs.contains("stopping without them"), "{logs}");
    let answered = waiting.await.unwrap().map(|answer| answer.status());
    assert!(answered.as_ref().map_or(true, |status| *status == StatusCode::GATEWAY_TIMEOUT), "{answered:?}");
    let down_node = format!("127.0.0.1:{down}");
    let unreachable =
        logs.lines().filter(|line| line.contains("RPC node unreachable") && line.contains(&down_node)).count();
    assert_eq!(unreachable, 1, "one line for a node down, not one per request: {logs}");
    drop(half);
}

/// `GATEWAY_REQUIRE_AUTH=true` with no key given: one is generated into the conf dir; the health check stays
/// open, every other route (the API's pages too) needs `Authorization: Bearer <key>`, and a peer that fails
/// `GATEWAY_AUTH_FAIL_MAX` times is refused even with the right key for the rest of the window.
#[tokio::test]
async fn with_a_bearer_key_required_only_the_health_check_is_open_and_a_peer_failing_too_often_is_locked_out() {
    use gateway::config::access::{API_KEY_FILE, AccessSettings, KeySource};
    let conf = tempfile::TempDir::new().unwrap();
    let vars = std::collections::HashMap::from([("GATEWAY_REQUIRE_AUTH", "true"), ("GATEWAY_AUTH_FAIL_MAX", "3")]);
    let (access, source) =
        AccessSettings::from_vars(|name| vars.get(name).map(|value| value.to_string()), conf.path()).unwrap();
    let path = conf.path().join(API_KEY_FILE);
    assert_eq!(source, Some(KeySource::Generated(path.clone())));
    let key = std::fs::read_to_string(&path).unwrap();
    let gateway = gateway::server::start(gateway::server::GatewayOptions {
        access,
        ..gateway::server::GatewayOptions::local(
            conf.path().to_path_buf(),
            gateway::passphrase::Passphrase::new(common::PASSPHRASE),
        )
    })
    .await
    .unwrap();
    let client = reqwest::Client::new();
    let url = |path: &str| format!("{}{path}", gateway.url());
    let get = |path: &str, bearer: Option<&str>| {
        let request = client.get(url(path));
        match bearer {
            Some(bearer) => request.bearer_auth(bearer),
            None => request,
        }
        .send()
    };
    assert_eq!(get("/", None).await.unwrap().status(), StatusCode::OK, "the health check is open");
    let refused = get("/config/chains", None).await.unwrap();
    assert_eq!(refused.headers()["www-authenticate"], "Bearer");
    let (status, body) = (refused.status(), refused.json::<serde_json::Value>().await.unwrap());
    assert_error_body(status, &body, StatusCode::UNAUTHORIZED, "Authorization: Bearer");
    assert_eq!(body["code"], "UNAUTHORIZED");
    assert!(!body.to_string().contains(&key), "the key is never in an answer");
    assert_eq!(get("/config/chains", Some(&key)).await.unwrap().status(), StatusCode::OK);
    assert_eq!(get("/docs/", Some(&key)).await.unwrap().status(), StatusCode::OK, "a loopback peer reads the docs");
    // The first request above, without a key, was the first failure.
    assert_eq!(get("/config/chains", Some("guess")).await.unwrap().status(), StatusCode::UNAUTHORIZED);
    assert_eq!(get("/docs/", None).await.unwrap().status(), StatusCode::UNAUTHORIZED, "the third failure");
    let locked = get("/config/chains", Some(&key)).await.unwrap();
    let (status, body) = (locked.status(), locked.json::<serde_json::Value>().await.unwrap());
    assert_error_body(status, &body, StatusCode::FORBIDDEN, "GATEWAY_AUTH_FAIL_WINDOW_MS");
    assert_eq!(get("/", None).await.unwrap().status(), StatusCode::OK, "the health check stays open");
    gateway.stop().await.unwrap();
}

/// A key for an address registered as a hardware wallet is refused, naming the row: taken, it would sign only
/// until the next start (the stored row has no keystore) and then be gone.
#[tokio::test]
async fn a_key_for_a_hardware_wallet_and_a_hardware_registration_for_a_kept_key_are_refused() {
    let gw = TestGateway::start_in(common::devnet_conf(&["http://127.0.0.1:1".into()]), None, common::PASSPHRASE)
        .await
        .unwrap();
    let key = alloy::signers::local::PrivateKeySigner::random();
    let address = key.address().to_checksum(None);
    let hardware = json!({"chain": "ethereum", "address": address});
    assert_eq!(gw.post("/wallet/add-hardware", hardware.clone()).await.0, StatusCode::OK);
    let add = json!({"chain": "ethereum", "privateKey": key.to_bytes().to_string()});
    let (status, body) = gw.post("/wallet/add", add.clone()).await;
    assert_error_body(status, &body, StatusCode::BAD_REQUEST, "registered as a hardware wallet");
    assert!(body["message"].as_str().unwrap().starts_with("privateKey"), "{body}");
    let removed = gw.client().delete(gw.url("/wallet/remove")).json(&hardware).send().await.unwrap();
    assert_eq!(removed.status(), StatusCode::OK);
    let (status, body) = gw.post("/wallet/add", add).await;
    assert_eq!((status, body["address"].as_str()), (StatusCode::OK, Some(address.as_str())), "{body}");
    // And the other way: an address whose key is kept here is not taken as a hardware wallet, which it would not be.
    let (status, body) = gw.post("/wallet/add-hardware", hardware.clone()).await;
    assert_error_body(status, &body, StatusCode::BAD_REQUEST, "whose key this gateway keeps");
    assert!(body["message"].as_str().unwrap().starts_with("address"), "{body}");
    let (_, wallets) = gw.get("/wallet").await;
    assert_eq!(wallets[0]["walletAddresses"], json!([address]), "{wallets}");
    assert_eq!(wallets[0]["hardwareWalletAddresses"], json!([]), "{wallets}");
}
