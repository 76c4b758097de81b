use std::process::{Command, Stdio};
use std::time::Duration;

use serde_json::Value;

use crate::common;

const GATEWAY: &str = env!("CARGO_BIN_EXE_gateway");

fn run(args: &[&str]) -> std::process::Output {
    Command::new(GATEWAY).args(args).env_remove("GATEWAY_PASSPHRASE").output().expect("the binary runs")
}

#[test]
fn start_without_a_passphrase_is_a_clear_error() {
    let conf = tempfile::TempDir::new().unwrap();
    let output = run(&["start", "--dev", "--conf", conf.path().to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("--passphrase") && stderr.contains("GATEWAY_PASSPHRASE"), "{stderr}");
}

#[test]
fn certs_are_made_once_in_hummingbots_layout_and_start_without_dev_needs_them() {
    use std::os::unix::fs::PermissionsExt;
    let conf = tempfile::TempDir::new().unwrap();
    let conf_arg = conf.path().to_str().unwrap();
    let output = run(&["start", "--passphrase", "x", "--port", "0", "--conf", conf_arg]);
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("gateway certs") && stderr.contains("--dev"), "{stderr}");

    let output = run(&["certs", "--passphrase", "x", "--conf", conf_arg, "--host", "gateway.lan"]);
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let files = ["ca_key.pem", "ca_cert.pem", "server_key.pem", "server_cert.pem", "client_key.pem", "client_cert.pem"];
    for name in files {
        let path = conf.path().join("certs").join(name);
        let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let expected = if name.ends_with("key.pem") { "ENCRYPTED PRIVATE KEY" } else { "CERTIFICATE" };
        assert!(text.starts_with(&format!("-----BEGIN {expected}-----")), "{name}: {text}");
        assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600, "{name}");
    }
    let before = std::fs::read(conf.path().join("certs/ca_cert.pem")).unwrap();
    let output = run(&["certs", "--passphrase", "x", "--conf", conf_arg]);
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("already holds"));
    assert_eq!(std::fs::read(conf.path().join("certs/ca_cert.pem")).unwrap(), before, "the CA is kept");
}

/// Plain HTTP on every interface: refused on bare metal (`src/container.rs` tests the rule both ways); in a
/// container, as these machines are, served, and the start says who can reach it.
#[test]
fn plain_http_beyond_loopback_is_refused_on_bare_metal_and_said_plainly_in_a_container() {
    use std::io::BufRead;
    let conf = tempfile::TempDir::new().unwrap();
    let mut child = Command::new(GATEWAY)
        .args(["start", "--dev", "--host", "0.0.0.0", "--port", "0", "--conf", conf.path().to_str().unwrap()])
        .env("GATEWAY_PASSPHRASE", "x")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    if !gateway::container::detected() {
        let output = child.wait_with_output().unwrap();
        assert_eq!(output.status.code(), Some(2));
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains("loopback") && stderr.contains("gateway certs"), "{stderr}");
        return;
    }
    let mut lines = std::io::BufReader::new(child.stdout.take().unwrap()).lines();
    let said = lines.find_map(|line| line.ok().filter(|line| line.contains("every interface of the container")));
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(said.is_some_and(|line| line.contains("publish it on 127.0.0.1")), "the start says who can reach it");
}

#[test]
fn openapi_command_prints_the_committed_spec() {
    let output = run(&["openapi"]);
    assert!(output.status.success());
    assert_eq!(String::from_utf8(output.stdout).unwrap(), include_str!("../../openapi/openapi.json"));
}

#[test]
fn start_dev_serves_and_stops_cleanly_on_sigterm() {
    use std::io::BufRead;
    let conf = tempfile::TempDir::new().unwrap();
    let mut child = Command::new(GATEWAY)
        .args(["start", "--dev", "--port", "0", "--conf", conf.path().to_str().unwrap()])
        .env("GATEWAY_PASSPHRASE", "x")
        .env("GATEWAY_BIND_ADDRESS", common::LOOPBACK)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // The gateway prints where it listens once it does.
    let mut lines = std::io::BufReader::new(child.stdout.take().unwrap()).lines();
    let listening = lines.find_map(|line| {
        let line = line.ok()?;
        line.split_whitespace().find(|word| word.starts_with("http://")).map(str::to_string)
    });
    let url = listening.expect("the gateway says where it listens");
    let port: u16 = url.rsplit(':').next().unwrap().parse().unwrap();
    let mut health = None;
    for _ in 0..100 {
        if let Ok(body) = http_get(port, "/") {
            health = Some(body);
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let health: Value = serde_json::from_str(&health.expect("the gateway answers")).unwrap();
    assert_eq!(health["status"], "ok");
    // The templates were installed on first start.
    assert!(conf.path().join("chains/ethereum/devnet.yml").is_file());
    assert!(conf.path().join("gateway.sqlite").is_file());
    // The database holds the keystores and the config node keys: for their owner's eyes only.
    for file in ["gateway.sqlite", "server.yml", "chains/ethereum/mainnet.yml"] {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(conf.path().join(file)).unwrap().permissions().mode();
        assert_eq!(mode & 0o077, 0, "{file} is {mode:o}");
    }
    Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap();
    let status = child.wait().unwrap();
    assert!(status.success(), "exits 0 after SIGTERM: {status}");
}

fn http_get(port: u16, path: &str) -> std::io::Result<String> {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", port))?;
    write!(stream, "GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")?;
    let mut response = String::new();
    stream.read_to_string(&mut response)?;
    Ok(response.split("\r\n\r\n").nth(1).unwrap_or_default().to_string())
}

fn run_with(args: &[&str], env: &[(&str, &str)]) -> (Option<i32>, String, String) {
    let output = Command::new(GATEWAY)
        .args(args)
        .env_remove("GATEWAY_PASSPHRASE")
        .env_remove("WALLET_PRIVATE_KEY")
        .env_remove("DATABASE_URL")
        .envs(env.iter().copied())
        .output()
        .expect("the binary runs");
    (
        output.status.code(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[tokio::test]
async fn wallet_commands_add_list_and_remove_without_a_server_under_the_gateways_passphrase() {
    // anvil's account #2: a well-known test key.
    const KEY: &str = "0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a";
    const ADDRESS: &str = "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC";
    let conf = tempfile::TempDir::new().unwrap();
    let dir = conf.path().to_str().unwrap();

    let (code, stdout, stderr) =
        run_with(&["wallet", "add", "--conf", dir], &[("GATEWAY_PASSPHRASE", "one"), ("WALLET_PRIVATE_KEY", KEY)]);
    assert_eq!(code, Some(0), "{stderr}");
    assert_eq!(stdout.trim(), ADDRESS);
    assert!(!stdout.contains(&KEY[2..]) && !stderr.contains(&KEY[2..]), "the key is never printed");
    let (code, stdout, _) = run_with(&["wallet", "list", "--conf", dir], &[]);
    assert_eq!((code, stdout.trim()), (Some(0), ADDRESS));

    // Another passphrase cannot open the stored wallets, so it may not add one beside them.
    let (code, _, stderr) = run_with(
        &[
            "wallet",
            "add",
            "--conf",
            dir,
            "--private-key",
            "0x7c852118294e51e653712a81e05800f419141751be58f605c371e15141b007a6",
        ],
        &[("GATEWAY_PASSPHRASE", "two")],
    );
    assert_eq!(code, Some(2));
    assert!(stderr.contains(ADDRESS) && stderr.contains("passphrase"), "{stderr}");

    // The gateway started on that conf dir signs with the wallet the CLI added.
    let gw = crate::common::TestGateway::start_in(conf, None, "one").await.unwrap();
    let (_, wallets) = gw.get("/wallet").await;
    assert_eq!(wallets[0]["walletAddresses"], serde_json::json!([ADDRESS]), "{wallets}");
    let conf = gw.stop().await;
    let dir = conf.path().to_str().unwrap();

    let (code, stdout, stderr) =
        run_with(&["wallet", "remove", ADDRESS, "--conf", dir], &[("GATEWAY_PASSPHRASE", "one")]);
    assert_eq!(code, Some(0), "{stderr}");
    assert!(stdout.contains("removed"));
    let (code, stdout, _) = run_with(&["wallet", "list", "--conf", dir], &[]);
    assert_eq!((code, stdout.trim()), (Some(0), ""));
    let (code, _, stderr) = run_with(&["wallet", "remove", ADDRESS, "--conf", dir], &[("GATEWAY_PASSPHRASE", "one")]);
    assert_eq!(code, Some(2));
    assert!(stderr.contains("wallet list"), "{stderr}");
}

#[test]
fn config_validate_and_show_read_the_conf_dir_and_name_what_is_wrong() {
    let conf = tempfile::TempDir::new().unwrap();
    let dir = conf.path().to_str().unwrap();
    let (code, _, stderr) = run_with(&["config", "validate", "--conf", dir], &[]);
    assert_eq!(code, Some(2));
    assert!(stderr.contains("server.yml"), "{stderr}");

    gateway::config::install_templates(conf.path()).unwrap();
    let (code, stdout, stderr) = run_with(&["config", "validate", "--conf", dir], &[]);
    assert_eq!(code, Some(0), "{stderr}");
    assert!(stdout.contains("valid"), "{stdout}");
    let (code, stdout, _) = run_with(&["config", "show", "--conf", dir, "--namespace", "server"], &[]);
    assert_eq!(code, Some(0));
    let server: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(server["port"], 15888);

    let server_yml = conf.path().join("server.yml");
    let text = std::fs::read_to_string(&server_yml).unwrap().replace("port: 15888", "port: many");
    std::fs::write(&server_yml, text).unwrap();
    let (code, _, stderr) = run_with(&["config", "validate", "--conf", dir], &[]);
    assert_eq!(code, Some(2));
    assert!(stderr.contains("server") && stderr.contains("port"), "{stderr}");
}

#[test]
fn json_logs_carry_the_request_id_of_the_request_they_belong_to() {
    use std::io::{BufRead, Read, Write};
    let conf = tempfile::TempDir::new().unwrap();
    let mut child = Command::new(GATEWAY)
        .args(["start", "--dev", "--port", "0", "--log-format", "json", "--conf", conf.path().to_str().unwrap()])
        .env("GATEWAY_PASSPHRASE", "x")
        .env("GATEWAY_BIND_ADDRESS", common::LOOPBACK)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = std::io::BufReader::new(child.stdout.take().unwrap()).lines();
    let port: u16 = lines
        .find_map(|line| {
            let line = line.ok()?;
            let url = line.split_whitespace().find(|word| word.starts_with("http://"))?.to_string();
            url.rsplit(':').next()?.parse().ok()
        })
        .expect("the gateway says where it listens");
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    write!(
        stream,
        "POST /restart HTTP/1.1\r\nHost: localhost\r\nx-request-id: req-from-the-test\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    assert!(response.to_lowercase().contains("x-request-id: req-from-the-test"), "{response}");
    Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap();
    let logs = std::io::BufReader::new(child.stderr.take().unwrap()).lines();
    let logged: Vec<Value> = logs.map_while(Result::ok).filter_map(|line| serde_json::from_str(&line).ok()).collect();
    assert!(child.wait().unwrap().success());
    let reload = logged
        .iter()
        .find(|line| line["fields"]["message"] == "configuration reloaded")
        .unwrap_or_else(|| panic!("a JSON log line for the reload in {logged:?}"));
    assert_eq!(reload["span"]["id"], "req-from-the-test", "{reload}");
    assert_eq!(reload["level"], "INFO");
}

#[test]
fn the_passphrase_can_come_from_a_file_and_never_needs_the_command_line() {
    let conf = tempfile::TempDir::new().unwrap();
    let file = conf.path().join("passphrase");
    std::fs::write(&file, "from a file\n").unwrap();
    let conf_arg = conf.path().to_str().unwrap();
    let output = run(&["certs", "--passphrase-file", file.to_str().unwrap(), "--conf", conf_arg]);
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    // The client key opens with the file's first line.
    let key = std::fs::read_to_string(conf.path().join("certs/client_key.pem")).unwrap();
    let (_, document) = pkcs8::Document::from_pem(&key).unwrap();
    let encrypted = pkcs8::EncryptedPrivateKeyInfo::try_from(document.as_bytes()).unwrap();
    assert!(encrypted.decrypt("from a file").is_ok());
    let output = run(&["certs", "--passphrase-file", "/nonexistent/passphrase", "--conf", conf_arg]);
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("--passphrase-file /nonexistent/passphrase"));
}

#[tokio::test]
async fn server_log_level_applies_at_start_and_when_updated_unless_rust_log_says_otherwise() {
    let conf = tempfile::TempDir::new().unwrap();
    gateway::config::install_templates(conf.path()).unwrap();
    gateway::config::Config::load(conf.path())
        .unwrap()
        .update("server", "logLevel", serde_json::json!("warn"))
        .unwrap();
    let http = reqwest::Client::new();
    let set_level = async |url: &str, level: &str| {
        let update = serde_json::json!({"namespace": "server", "path": "logLevel", "value": level});
        let answer = http.post(format!("{url}/config/update")).json(&update).send().await.unwrap();
        assert!(answer.status().is_success());
        // A request logged at debug level (each request's "request answered").
        http.get(format!("{url}/")).send().await.unwrap();
    };

    let process = crate::common::GatewayProcess::start(conf.path(), &[("RUST_LOG", "")]);
    let url = process.url.clone();
    set_level(&url, "warn").await;
    set_level(&url, "debug").await;
    let (_, logs) = process.terminate();
    // At warn from the start; the first line below it is the update to debug saying it is done.
    let first_info = logs.lines().find(|line| line.contains(" INFO ")).unwrap_or_default();
    assert!(first_info.contains("config updated"), "warn from server.yml at start: {logs}");
    assert!(logs.contains("DEBUG"), "debug once updated: {logs}");

    let process = crate::common::GatewayProcess::start(conf.path(), &[("RUST_LOG", "info")]);
    let url = process.url.clone();
    set_level(&url, "trace").await;
    let (_, logs) = process.terminate();
    assert!(logs.contains(" INFO ") && !logs.contains("DEBUG") && !logs.contains("TRACE"), "RUST_LOG wins: {logs}");
}
