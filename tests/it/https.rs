//! HTTPS with client certificates: `gateway certs` makes them in Hummingbot's layout, and `start` without
//! --dev talks only to clients holding a certificate its CA signed.

use gateway::tls;
use reqwest::StatusCode;
use tempfile::TempDir;

use crate::common::{PASSPHRASE, TestGateway, https_client, into_json, make_certs};

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
