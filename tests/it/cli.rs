use std::process::{Command, Stdio};
use std::time::Duration;

use serde_json::Value;

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
fn start_without_dev_refuses_until_https_is_configured() {
    let conf = tempfile::TempDir::new().unwrap();
    let output = run(&["start", "--passphrase", "x", "--conf", conf.path().to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("HTTPS") && stderr.contains("--dev"), "{stderr}");
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
