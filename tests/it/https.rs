//! HTTPS with client certificates: `gateway certs` makes them in Hummingbot's layout, and `start` without
//! --dev talks only to clients holding a certificate its CA signed.

use std::net::SocketAddr;
use std::time::Duration;

use gateway::tls;
use reqwest::StatusCode;
use tempfile::TempDir;

use crate::common::{
    GatewayProcess, PASSPHRASE, TestGateway, https_client, https_client_builder, into_json, make_certs,
};

/// A conf dir from the templates with certificates made under `passphrase`.
fn conf_with_certs(passphrase: &str) -> (TempDir, std::path::PathBuf) {
    let conf = TempDir::new().unwrap();
    gateway::config::install_templates(conf.path()).unwrap();
    let dir = make_certs(conf.path(), passphrase);
    (conf, dir)
}

#[tokio::test]
async fn https_serves_only_clients_whose_certificate_its_ca_signed() {
    let (conf, dir) = conf_with_certs(PASSPHRASE);
    let (_other_conf, other_dir) = conf_with_certs(PASSPHRASE);
    let gw = TestGateway::start_https(conf, https_client(&dir, Some(&dir))).await.unwrap();
    let url = gw.url("/");
    assert!(url.starts_with("https://"), "{url}");

    let (status, body) = gw.get("/").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["status"], "ok");
    // The server certificate names localhost as well as the loopback address.
    let by_name = url.replace("127.0.0.1", "localhost");
    let (status, _) = into_json(https_client(&dir, Some(&dir)).get(&by_name).send().await.unwrap()).await;
    assert_eq!(status, StatusCode::OK);

    let refused = [
        ("no client certificate", https_client(&dir, None)),
        ("a client certificate from another CA", https_client(&dir, Some(&other_dir))),
        ("a client that does not trust this gateway's CA", https_client(&other_dir, Some(&dir))),
    ];
    for (who, http) in refused {
        let answer = http.get(&url).send().await;
        assert!(answer.is_err(), "{who} was answered: {answer:?}");
    }
    let plain = reqwest::get(url.replace("https://", "http://")).await;
    assert!(plain.is_err(), "plain HTTP was answered: {plain:?}");
    gw.stop().await;
}

#[tokio::test]
async fn https_without_certificates_or_with_another_passphrase_says_what_to_do() {
    let bare = TempDir::new().unwrap();
    let error = TestGateway::start_https(bare, reqwest::Client::new()).await.err().expect("no certificates, no start");
    let message = error.to_string();
    assert!(message.contains("gateway certs") && message.contains("--dev"), "{message}");

    let (conf, _) = conf_with_certs("another passphrase");
    let error = TestGateway::start_https(conf, reqwest::Client::new()).await.err().expect("the key stays closed");
    let message = error.to_string();
    assert!(message.contains(tls::SERVER_KEY) && message.contains("passphrase"), "{message}");
}

/// The probe, bounded: 300 idle sockets from another address, each opened again a second after it is
/// closed, while a client holding a certificate calls on a new connection every time.
#[tokio::test]
async fn idle_sockets_keep_no_client_with_a_certificate_out_and_are_logged_once_per_interval() {
    let (conf, dir) = conf_with_certs(PASSPHRASE);
    let served = GatewayProcess::start_with(&[], conf.path(), &[]);
    let started = std::time::Instant::now();
    let addr: SocketAddr = served.url.trim_start_matches("https://").parse().unwrap();
    let attack_until = started + Duration::from_secs(6);
    let idle: Vec<_> = (0..300).map(|_| tokio::spawn(hold_idle(addr, attack_until))).collect();
    tokio::time::sleep(Duration::from_millis(500)).await;

    let client = https_client_builder(&dir, Some(&dir)).pool_max_idle_per_host(0).build().unwrap();
    let mut answered = 0;
    for _ in 0..20 {
        let answer = client.get(&served.url).timeout(Duration::from_secs(5)).send().await;
        answered += usize::from(answer.is_ok_and(|answer| answer.status() == StatusCode::OK));
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(answered, 20, "a client holding a certificate was kept out");
    let opened: usize = futures::future::join_all(idle).await.into_iter().map(Result::unwrap).sum();
    assert!(opened >= 300, "{opened}");

    // Every idle socket is closed by the 9th second; the count is written at the 10th, once.
    tokio::time::sleep((started + Duration::from_secs(11)).saturating_duration_since(std::time::Instant::now())).await;
    let (_, logs) = served.terminate();
    let lines: Vec<&str> = logs.lines().filter(|line| line.contains("closed before they were served")).collect();
    assert_eq!(lines.len(), 1, "{logs}");
    let counted = lines[0].split("connections=").nth(1).and_then(|rest| rest.split(' ').next()).unwrap();
    assert!(counted.parse::<usize>().unwrap() >= 300, "{}", lines[0]);
}

/// Idle connections from 127.0.0.2 to `addr` until `until`, each opened again a second after the gateway closes
/// it; how many were opened.
async fn hold_idle(addr: SocketAddr, until: std::time::Instant) -> usize {
    use tokio::io::AsyncReadExt;
    let mut opened = 0;
    while std::time::Instant::now() < until {
        let socket = tokio::net::TcpSocket::new_v4().unwrap();
        socket.bind("127.0.0.2:0".parse().unwrap()).unwrap();
        let Ok(mut stream) = socket.connect(addr).await else { continue };
        opened += 1;
        let _ = stream.read(&mut [0; 16]).await;
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    opened
}

/// Plain HTTP: a request whose headers never end, and a kept-alive connection left idle, are both closed once the
/// header deadline passes, and the gateway answers a new connection meanwhile.
#[tokio::test]
async fn unfinished_headers_and_idle_keep_alives_are_closed_after_the_header_deadline() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let gw = TestGateway::start().await;
    let addr = gw.url("").trim_start_matches("http://").trim_end_matches('/').to_string();
    let mut unfinished = tokio::net::TcpStream::connect(&addr).await.unwrap();
    unfinished.write_all(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ").await.unwrap();
    let mut idle = tokio::net::TcpStream::connect(&addr).await.unwrap();
    idle.write_all(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n").await.unwrap();
    let mut answer = [0; 1024];
    let read = idle.read(&mut answer).await.unwrap();
    assert!(String::from_utf8_lossy(&answer[..read]).starts_with("HTTP/1.1 200"));
    let opened = std::time::Instant::now();
    let (status, _) = gw.get("/").await;
    assert_eq!(status, StatusCode::OK);

    let deadline = gateway::connections::HEADER_READ_TIMEOUT + Duration::from_secs(5);
    for (name, mut stream) in [("unfinished headers", unfinished), ("idle keep-alive", idle)] {
        let left = deadline.saturating_sub(opened.elapsed());
        let closed =
            tokio::time::timeout(left, async { while stream.read(&mut answer).await.is_ok_and(|n| n > 0) {} }).await;
        assert!(closed.is_ok(), "{name} still open after {:?}", opened.elapsed());
        assert!(opened.elapsed() >= gateway::connections::HEADER_READ_TIMEOUT - Duration::from_secs(1), "{name}");
    }
    gw.stop().await;
}

/// Roles by certificate: `gateway certs --role` makes client certificates from the same CA that may read, or also
/// trade; the first client certificate (Hummingbot's) may still do everything.
#[tokio::test]
async fn a_read_certificate_reads_and_a_trade_certificate_trades_and_neither_administers() {
    let devnet = crate::common::devnet().await;
    let conf = crate::common::devnet_conf(&[devnet.rpc_url()]);
    let accounts = devnet.accounts();
    gateway::devnet::point_network_at(conf.path(), &devnet.rpc_url(), gateway::rehearsal::Profile::PLAIN, accounts)
        .unwrap();
    let dir = make_certs(conf.path(), PASSPHRASE);
    let gateway_bin = env!("CARGO_BIN_EXE_gateway");
    for role in ["read", "trade"] {
        let made = std::process::Command::new(gateway_bin)
            .args(["certs", "--conf", conf.path().to_str().unwrap(), "--role", role])
            .env("GATEWAY_PASSPHRASE", PASSPHRASE)
            .output()
            .unwrap();
        assert!(made.status.success(), "{}", String::from_utf8_lossy(&made.stderr));
        assert!(dir.join(role).join(tls::CLIENT_CERT).exists() && dir.join(role).join(tls::CA_CERT).exists());
    }
    let gw = TestGateway::start_https(conf, https_client(&dir, Some(&dir))).await.unwrap();
    gw.add_wallet(&devnet, 1).await;
    let as_role = |role: &str| https_client(&dir, Some(&dir.join(role)));
    let call = |http: reqwest::Client, method: reqwest::Method, path: &str, body: serde_json::Value| {
        let request = http.request(method, gw.url(path));
        let request = if body.is_null() { request } else { request.json(&body) };
        async move { into_json(request.send().await.unwrap()).await }
    };
    let quote = "/trading/amm/quote-swap?chainNetwork=ethereum-devnet&connector=uniswap&baseToken=WETH&quoteToken=USDC&amount=0.1&side=SELL";
    let balances = serde_json::json!({"network": "devnet", "tokens": ["WETH"]});
    let approve = serde_json::json!({"network": "devnet", "token": "WETH", "spender": "uniswap/amm"});
    let swap = serde_json::json!({"chainNetwork": "ethereum-devnet", "connector": "uniswap", "baseToken": "WETH", "quoteToken": "USDC", "amount": 0.1, "side": "SELL"});
    let config = serde_json::json!({"namespace": "server", "path": "logLevel", "value": "info"});
    let wallet = serde_json::json!({"chain": "ethereum", "privateKey": devnet.private_key(2)});
    let (get, post) = (reqwest::Method::GET, reqwest::Method::POST);

    for role in ["read", "trade"] {
        let (status, body) = call(as_role(role), get.clone(), quote, serde_json::Value::Null).await;
        assert_eq!(status, StatusCode::OK, "{role} quotes: {body}");
        let (status, body) = call(as_role(role), post.clone(), "/chains/ethereum/balances", balances.clone()).await;
        assert_eq!(status, StatusCode::OK, "{role} reads balances: {body}");
        for (path, body, needs) in [("/config/update", &config, "admin"), ("/wallet/add", &wallet, "admin")] {
            let (status, answer) = call(as_role(role), post.clone(), path, body.clone()).await;
            crate::common::assert_error_body(status, &answer, StatusCode::FORBIDDEN, &format!("needs {needs}"));
            assert!(answer["message"].as_str().unwrap().contains(&format!("role is {role}")), "{answer}");
        }
    }
    for (path, body) in [("/chains/ethereum/approve", &approve), ("/trading/amm/execute-swap", &swap)] {
        let (status, answer) = call(as_role("read"), post.clone(), path, body.clone()).await;
        crate::common::assert_error_body(status, &answer, StatusCode::FORBIDDEN, "needs trade");
    }
    let (status, body) = call(as_role("trade"), post.clone(), "/chains/ethereum/approve", approve.clone()).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, body) = call(as_role("trade"), post.clone(), "/trading/amm/execute-swap", swap.clone()).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["status"], 1, "{body}");
    // The certificate without a role is Hummingbot's, and may do everything.
    let (status, body) = call(https_client(&dir, Some(&dir)), post.clone(), "/config/update", config.clone()).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    gw.stop().await;
}
