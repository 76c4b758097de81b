//! What the integration tests share: a devnet and a gateway on it, requests and their answers, amounts, TLS
//! clients, a Python environment, and PostgreSQL databases.

pub mod postgres;
pub mod session;

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use alloy::primitives::Address;
use gateway::config::Config;
use gateway::devnet::{Devnet, DevnetAssets};
use gateway::passphrase::Passphrase;
use gateway::server::{GatewayOptions, RunningGateway, StartError};
use reqwest::StatusCode;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use serde_json::value::RawValue;
use serde_json::{Value, json};
use tempfile::TempDir;

pub const PASSPHRASE: &str = "test passphrase";

/// Where a gateway process listens in the tests. These machines are containers, where a gateway listens on every
/// interface by default; the tests' own servers on loopback can then be handed the same port, and take its
/// connections. Loopback, as on bare metal.
pub const LOOPBACK: &str = "127.0.0.1";

/// A loopback port nothing listens on now.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// Raw units of a human amount of a token with `decimals`.
pub fn raw(text: &str, decimals: u8) -> alloy::primitives::U256 {
    chains::amount::Amount::parse(text, decimals).unwrap().raw
}

/// A provider straight to the devnet's node.
pub fn node(devnet: &Devnet) -> alloy::providers::RootProvider {
    alloy::providers::RootProvider::new_http(devnet.rpc_url().parse().unwrap())
}

pub async fn devnet() -> Devnet {
    Devnet::start(&DevnetAssets::locate(), 0, &|step| eprintln!("devnet: {step}")).await.expect("devnet starts")
}

/// A gateway on a fresh conf dir, with its own SQLite database unless `database_url` is given.
pub struct TestGateway {
    pub gateway: RunningGateway,
    pub conf: TempDir,
    http: reqwest::Client,
}

impl TestGateway {
    pub async fn start() -> TestGateway {
        let conf = TempDir::new().expect("temp dir");
        Self::start_in(conf, None, PASSPHRASE).await.expect("gateway starts")
    }

    /// A gateway whose devnet network points at `devnet`, with devnet account 1 added as the default wallet.
    pub async fn on_devnet(devnet: &Devnet) -> TestGateway {
        Self::on_devnet_with(devnet, None).await
    }

    pub async fn on_devnet_with(devnet: &Devnet, database_url: Option<String>) -> TestGateway {
        let conf = devnet_conf(&[devnet.rpc_url()]);
        // As `gateway devnet` makes its conf: sending by API to the devnet's accounts.
        gateway::devnet::point_network_at(
            conf.path(),
            &devnet.rpc_url(),
            gateway::rehearsal::Profile::PLAIN,
            devnet.accounts(),
        )
        .unwrap();
        let gw = Self::start_in(conf, database_url, PASSPHRASE).await.expect("gateway starts");
        gw.add_wallet(devnet, 1).await;
        gw
    }

    /// Starts on an existing conf dir (as a restart would).
    pub async fn start_in(
        conf: TempDir,
        database_url: Option<String>,
        passphrase: &str,
    ) -> Result<TestGateway, StartError> {
        Self::start_serving(conf, database_url, passphrase, None).await
    }

    /// Serves HTTPS with the certificates in the conf dir, talking through `http` (which must hold a client
    /// certificate the gateway's CA signed).
    pub async fn start_https(conf: TempDir, http: reqwest::Client) -> Result<TestGateway, StartError> {
        Self::start_serving(conf, None, PASSPHRASE, Some(http)).await
    }

    async fn start_serving(
        conf: TempDir,
        database_url: Option<String>,
        passphrase: &str,
        https_client: Option<reqwest::Client>,
    ) -> Result<TestGateway, StartError> {
        let gateway = gateway::server::start(GatewayOptions {
            database_url,
            tls: https_client.is_some(),
            ..GatewayOptions::local(conf.path().to_path_buf(), Passphrase::new(passphrase))
        })
        .await?;
        Ok(TestGateway { gateway, conf, http: https_client.unwrap_or_default() })
    }

    /// Stops the gateway and hands back its conf dir.
    pub async fn stop(self) -> TempDir {
        self.gateway.stop().await.expect("gateway stops");
        self.conf
    }

    /// Adds devnet account `index` as a wallet and makes it the default.
    pub async fn add_wallet(&self, devnet: &Devnet, index: usize) -> Address {
        let (status, body) = self
            .post(
                "/wallet/add",
                json!({"chain": "ethereum", "privateKey": devnet.private_key(index), "setDefault": true}),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        body["address"].as_str().unwrap().parse().unwrap()
    }

    /// The devnet network as the gateway uses it (for its RPC counters).
    pub fn devnet_network(&self) -> std::sync::Arc<chains::network::Network> {
        let state = &self.gateway.state;
        state.ethereum().network(&state.config(), "devnet").expect("devnet network")
    }

    /// POSTs and answers the status and the body's text, for exact numbers.
    pub async fn post_text(&self, path: &str, body: Value) -> (StatusCode, String) {
        let response = self.http.post(self.url(path)).json(&body).send().await.expect("POST reaches the gateway");
        (response.status(), response.text().await.unwrap())
    }

    pub fn conf_dir(&self) -> &Path {
        self.conf.path()
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.gateway.url())
    }

    /// GETs and answers the status and the body's text, for exact numbers.
    pub async fn get_text(&self, path: &str) -> (StatusCode, String) {
        let response = self.http.get(self.url(path)).send().await.expect("GET reaches the gateway");
        (response.status(), response.text().await.unwrap())
    }

    pub async fn get(&self, path: &str) -> (StatusCode, Value) {
        into_json(self.http.get(self.url(path)).send().await.expect("GET reaches the gateway")).await
    }

    pub async fn post(&self, path: &str, body: Value) -> (StatusCode, Value) {
        into_json(self.http.post(self.url(path)).json(&body).send().await.expect("POST reaches the gateway")).await
    }

    /// POSTs with an Idempotency-Key; answers the status, the body's text and whether it was served again.
    pub async fn post_once(&self, path: &str, body: Value, key: &str) -> (StatusCode, String, bool) {
        let response = self.send_keyed(path, body, key).await;
        let replayed = response.headers().get("idempotent-replayed").is_some_and(|v| v == "true");
        (response.status(), response.text().await.unwrap(), replayed)
    }

    /// A POST with an Idempotency-Key, its answer as JSON, and whether it was replayed and whether it was
    /// recovered (rebuilt from the chain after the gateway that served the key stopped).
    pub async fn post_keyed(&self, path: &str, body: Value, key: &str) -> (StatusCode, Value, (bool, bool)) {
        let response = self.send_keyed(path, body, key).await;
        let header = |name: &str| response.headers().get(name).is_some_and(|v| v == "true");
        let flags = (header("idempotent-replayed"), header("gateway-recovered"));
        let (status, body) = into_json(response).await;
        (status, body, flags)
    }

    async fn send_keyed(&self, path: &str, body: Value, key: &str) -> reqwest::Response {
        let request = self.http.post(self.url(path)).header("Idempotency-Key", key).json(&body);
        request.send().await.expect("POST reaches the gateway")
    }

    pub fn client(&self) -> &reqwest::Client {
        &self.http
    }
}

pub async fn into_json(response: reqwest::Response) -> (StatusCode, Value) {
    let status = response.status();
    let text = response.text().await.expect("body is readable");
    let body = serde_json::from_str(&text).unwrap_or_else(|_| panic!("{status}: body is not JSON: {text}"));
    (status, body)
}

/// The body every error answers with: the status, its name, a message, a code and a name.
pub fn assert_error_body(status: StatusCode, body: &Value, expected: StatusCode, message_contains: &str) {
    assert_eq!(status, expected, "{body}");
    assert_eq!(body["statusCode"], expected.as_u16(), "{body}");
    assert_eq!(body["error"], expected.canonical_reason().unwrap(), "{body}");
    let message = body["message"].as_str().unwrap_or_else(|| panic!("message is a string: {body}"));
    assert!(message.contains(message_contains), "message {message:?} should mention {message_contains:?}");
    assert!(body["code"].is_string(), "{body}");
    assert!(body["name"].is_string(), "{body}");
}

/// A conf dir from the templates with the devnet network pointing at `node_urls`.
pub fn devnet_conf(node_urls: &[String]) -> TempDir {
    let conf = TempDir::new().expect("temp dir");
    gateway::config::install_templates(conf.path()).unwrap();
    let config = Config::load(conf.path()).unwrap();
    let config = config.update("ethereum-devnet", "nodeURL", json!(node_urls)).unwrap();
    // As `gateway devnet` makes its conf: sending by API is on.
    config.update("server", "walletSend", json!(true)).unwrap();
    conf
}

/// The exact text of each value in the object `field` of a response (numbers included, which `Value` would
/// turn into floats).
pub fn raw_numbers(text: &str, field: &str) -> BTreeMap<String, String> {
    let body: BTreeMap<String, Box<RawValue>> = serde_json::from_str(text).unwrap();
    let inner: BTreeMap<String, Box<RawValue>> = serde_json::from_str(body[field].get()).unwrap();
    inner.into_iter().map(|(k, v)| (k, v.get().trim_matches('"').to_string())).collect()
}

/// An amount of an answer, which is a decimal string (as Gateway v2.17 writes them), as a float to compare.
pub fn decimal(value: &Value) -> f64 {
    let text = value.as_str().unwrap_or_else(|| panic!("not a decimal string: {value}"));
    text.parse().unwrap_or_else(|_| panic!("not a decimal: {text}"))
}

/// The exact text of a top-level field of a response.
pub fn raw_field(text: &str, field: &str) -> String {
    let body: BTreeMap<String, Box<RawValue>> = serde_json::from_str(text).unwrap();
    body[field].get().trim_matches('"').to_string()
}

/// A field of an answer's `data`, as written.
pub fn data_field(text: &str, field: &str) -> String {
    let body: BTreeMap<String, Box<RawValue>> = serde_json::from_str(text).unwrap();
    raw_field(body["data"].get(), field)
}

/// Makes certificates under `passphrase` in the conf dir's `certs/` (server.yml's default) and returns that dir.
pub fn make_certs(conf: &Path, passphrase: &str) -> std::path::PathBuf {
    let dir = gateway::config::certificate_dir(conf, "./certs/");
    gateway::tls::generate(&dir, &Passphrase::new(passphrase), &[]).unwrap();
    dir
}

/// The client key opened with the passphrase, as a client outside the gateway would (Hummingbot: OpenSSL).
fn client_key(dir: &Path, passphrase: &str) -> PrivateKeyDer<'static> {
    let text = std::fs::read_to_string(dir.join(gateway::tls::CLIENT_KEY)).unwrap();
    let (label, document) = pkcs8::Document::from_pem(&text).unwrap();
    assert_eq!(label, "ENCRYPTED PRIVATE KEY", "keys are stored encrypted");
    let encrypted = pkcs8::EncryptedPrivateKeyInfo::try_from(document.as_bytes()).unwrap();
    let plain = encrypted.decrypt(passphrase).unwrap();
    let pem = plain.to_pem("PRIVATE KEY", pkcs8::der::pem::LineEnding::LF).unwrap();
    PrivateKeyDer::from_pem_slice(pem.as_bytes()).unwrap()
}

/// A client trusting `ca_dir`'s CA and presenting `identity_dir`'s client certificate, if any.
pub fn https_client(ca_dir: &Path, identity_dir: Option<&Path>) -> reqwest::Client {
    https_client_builder(ca_dir, identity_dir).build().unwrap()
}

/// What [`https_client`] builds, for a client that needs more (names resolved to chosen addresses).
pub fn https_client_builder(ca_dir: &Path, identity_dir: Option<&Path>) -> reqwest::ClientBuilder {
    let mut roots = rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_file_iter(ca_dir.join(gateway::tls::CA_CERT)).unwrap() {
        roots.add(cert.unwrap()).unwrap();
    }
    let builder = rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::aws_lc_rs::default_provider()))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots);
    let config = match identity_dir {
        Some(dir) => {
            let chain = CertificateDer::pem_file_iter(dir.join(gateway::tls::CLIENT_CERT))
                .unwrap()
                .collect::<Result<Vec<_>, _>>()
                .unwrap();
            builder.with_client_auth_cert(chain, client_key(dir, PASSPHRASE)).unwrap()
        }
        None => builder.with_no_client_auth(),
    };
    reqwest::Client::builder().use_preconfigured_tls(config)
}

/// `gateway start --dev` as a process of its own, for what only a process shows: its log lines, signals, exits.
pub struct GatewayProcess {
    child: std::process::Child,
    pub url: String,
    /// Everything the process writes to stderr (its logs), read until it exits.
    logs: std::thread::JoinHandle<String>,
    /// What it printed to stdout up to where it said it listens.
    printed: String,
}

impl GatewayProcess {
    pub fn start(conf: &Path, env: &[(&str, &str)]) -> GatewayProcess {
        GatewayProcess::start_with(&["--dev"], conf, env)
    }

    /// `gateway start` with `args` besides the conf dir and a free port.
    pub fn start_with(args: &[&str], conf: &Path, env: &[(&str, &str)]) -> GatewayProcess {
        use std::io::Read;
        let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_gateway"))
            .args(["start", "--port", "0", "--conf", conf.to_str().unwrap()])
            .args(args)
            .env("GATEWAY_PASSPHRASE", PASSPHRASE)
            .env("GATEWAY_BIND_ADDRESS", LOOPBACK)
            .envs(env.iter().copied())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let mut stderr = child.stderr.take().unwrap();
        let logs = std::thread::spawn(move || {
            let mut text = String::new();
            let _ = stderr.read_to_string(&mut text);
            text
        });
        let (url, printed) = printed_url(child.stdout.take().unwrap());
        GatewayProcess { child, url, logs, printed }
    }

    /// SIGKILL, as a crash or the OOM killer would: nothing of it runs after.
    pub fn kill(mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }

    /// Waits up to `within` for the process to exit on its own: whether it exited 0, and every line it logged or
    /// printed; `None` (and the process killed) when it is still running.
    pub fn exit_within(mut self, within: std::time::Duration) -> Option<(bool, String)> {
        let deadline = std::time::Instant::now() + within;
        while std::time::Instant::now() < deadline {
            if let Some(status) = self.child.try_wait().unwrap() {
                return Some((status.success(), self.logs.join().unwrap() + &self.printed));
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        self.kill();
        None
    }

    /// SIGTERM, then waits for the exit: whether it exited 0, and every line it logged or printed.
    pub fn terminate(mut self) -> (bool, String) {
        let _ = std::process::Command::new("kill").arg(self.child.id().to_string()).status();
        let status = self.child.wait().unwrap();
        (status.success(), self.logs.join().unwrap() + &self.printed)
    }
}

/// Reads what a starting gateway prints up to the line with its address: the address, and every line read.
pub fn printed_url(stdout: impl std::io::Read) -> (String, String) {
    use std::io::BufRead;
    let mut stdout = std::io::BufReader::new(stdout);
    let mut printed = String::new();
    loop {
        let mut line = String::new();
        assert!(stdout.read_line(&mut line).unwrap() > 0, "the gateway stopped: {printed}");
        printed.push_str(&line);
        if let Some(url) = line.split_whitespace().find(|w| w.starts_with("http://") || w.starts_with("https://")) {
            return (url.to_string(), printed);
        }
    }
}

/// The Python of a virtualenv with the packages of `requirements` (relative to the repository) installed, made
/// once under the devnet's work dir and made again when the requirements change.
pub async fn python_with(name: &str, requirements: &str) -> std::path::PathBuf {
    let assets = DevnetAssets::locate();
    let venv = assets.work_dir().join(format!("{name}-venv"));
    let requirements = Path::new(env!("CARGO_MANIFEST_DIR")).join(requirements);
    tokio::task::spawn_blocking(move || {
        use std::process::Command;
        let _lock = assets.lock().unwrap();
        let python = venv.join("bin/python");
        let marker = venv.join("installed.txt");
        let wanted = std::fs::read_to_string(&requirements).unwrap();
        if std::fs::read_to_string(&marker).ok().as_deref() != Some(wanted.as_str()) {
            let run = |command: &mut Command| {
                let output = command.output().expect("python3 runs (install Python 3 with venv and pip)");
                assert!(output.status.success(), "{command:?}: {}", String::from_utf8_lossy(&output.stderr));
            };
            run(Command::new("python3").args(["-m", "venv", "--clear"]).arg(&venv));
            run(Command::new(&python).args(["-m", "pip", "install", "--quiet", "-r"]).arg(&requirements));
            std::fs::write(&marker, wanted).unwrap();
        }
        python
    })
    .await
    .unwrap()
}

/// What a node standing in front of the devnet does with one JSON-RPC call.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Interception {
    Forward,
    /// The devnet gets the call, the gateway hears this HTTP status instead of the answer (a load balancer
    /// that timed out after the node took a transaction).
    ForwardThenAnswer(StatusCode),
    /// Held this long, then forwarded (a slow node).
    Delay(std::time::Duration),
    /// Not forwarded: answered with this HTTP status (a provider over its rate limit).
    Refuse(StatusCode),
}

/// A node on any path (as a provider's URL with a key in it) forwarding JSON-RPC to `target`; `intercept` is
/// asked, for each call, by its method (a batch's last) and how many calls of that method came before.
pub async fn intercepting_node(
    target: String,
    intercept: impl Fn(&str, usize) -> Interception + Send + Sync + 'static,
) -> u16 {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let client = reqwest::Client::new();
    let seen = Arc::new(std::sync::Mutex::new(BTreeMap::<String, usize>::new()));
    let intercept = Arc::new(intercept);
    let app = axum::Router::new().fallback(move |body: axum::body::Bytes| {
        let (client, target, seen, intercept) = (client.clone(), target.clone(), seen.clone(), intercept.clone());
        async move {
            let call: Value = serde_json::from_slice(&body).unwrap_or_default();
            // A batch goes by its last call: the gateway asks its reads' block number first in the same batch.
            let last = call.as_array().and_then(|calls| calls.last());
            let method = call.get("method").or_else(|| last.and_then(|last| last.get("method")));
            let method = method.and_then(Value::as_str).unwrap_or_default().to_string();
            let before = {
                let mut seen = seen.lock().unwrap();
                let count = seen.entry(method.clone()).or_default();
                *count += 1;
                *count - 1
            };
            let action = intercept(&method, before);
            if let Interception::Delay(pause) = action {
                tokio::time::sleep(pause).await;
            }
            if let Interception::Refuse(status) = action {
                return (status, [(axum::http::header::CONTENT_TYPE, "application/json")], axum::body::Bytes::new());
            }
            let answer =
                client.post(&target).header("content-type", "application/json").body(body).send().await.unwrap();
            let answer = answer.bytes().await.unwrap();
            let status = match action {
                Interception::ForwardThenAnswer(status) => status,
                _ => StatusCode::OK,
            };
            (status, [(axum::http::header::CONTENT_TYPE, "application/json")], answer)
        }
    });
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    port
}

/// Approves `spender` (a name like `uniswap/router`) for `token` for the default wallet on the devnet.
pub async fn approve(gw: &TestGateway, token: &str, spender: &str) {
    let (status, body) =
        gw.post("/chains/ethereum/approve", json!({"network": "devnet", "token": token, "spender": spender})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

/// GETs a unified quote-swap of `connector`'s `kind` on the devnet: its text (for exact numbers) and parsed form.
pub async fn quote_on(gw: &TestGateway, connector: &str, kind: &str, query: &str) -> (String, Value) {
    let url = format!("/trading/{kind}/quote-swap?chainNetwork=ethereum-devnet&connector={connector}&{query}");
    let response = gw.client().get(gw.url(&url)).send().await.unwrap();
    let status = response.status();
    let text = response.text().await.unwrap();
    assert_eq!(status, StatusCode::OK, "{text}");
    let value = serde_json::from_str(&text).unwrap();
    (text, value)
}
