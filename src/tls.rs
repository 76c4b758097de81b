//! HTTPS with client certificates, in Hummingbot's layout: one CA signs the gateway's server certificate and
//! the client certificate Hummingbot presents, and the gateway talks only to clients whose certificate that CA
//! signed. Private keys are PKCS#8 PEM encrypted under the gateway passphrase; Hummingbot opens
//! `client_key.pem` with its own password, so the two are meant to be the same.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use pkcs8::der::pem::{LineEnding, PemLabel};
use pkcs8::pkcs5::pbes2;
use pkcs8::{EncryptedPrivateKeyInfo, PrivateKeyInfo};
use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair, KeyUsagePurpose,
};
use rustls::server::WebPkiClientVerifier;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::server::TlsStream;

use crate::config::access::Role;
use crate::connections::{Peer, PeerSlot, PerPeer, REFUSALS_LOGGED_EVERY, Refusals};
use crate::passphrase::Passphrase;

pub const CA_CERT: &str = "ca_cert.pem";
pub const CA_KEY: &str = "ca_key.pem";
pub const SERVER_CERT: &str = "server_cert.pem";
pub const SERVER_KEY: &str = "server_key.pem";
pub const CLIENT_CERT: &str = "client_cert.pem";
pub const CLIENT_KEY: &str = "client_key.pem";
const ALL_FILES: [&str; 6] = [CA_KEY, CA_CERT, SERVER_KEY, SERVER_CERT, CLIENT_KEY, CLIENT_CERT];

/// PBKDF2-SHA256 rounds for the key files (OWASP's figure): guessing the passphrase stays costly, and opening
/// the server key once at start takes a fraction of a second.
const KEY_ENCRYPTION_ROUNDS: u32 = 600_000;
const VALID_FOR_DAYS: i64 = 3650;
/// A connection that sends nothing is closed after this: a client starts its handshake at once, so idle sockets
/// are let go long before they add up.
const FIRST_BYTES_TIMEOUT: Duration = Duration::from_secs(3);
/// A client that starts a handshake and does not finish it is dropped after this.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(5);
/// Handshakes computed at once (each costs a signature); more wait for a turn within their deadline.
const HANDSHAKES_AT_ONCE: usize = 256;
/// Connections one address may have before they are served; its next closes its oldest. Far above what a client
/// opens at once (aiohttp's pool holds 100), so only a flood of one address's connections is cut.
const UNSERVED_PER_PEER: usize = 128;

#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error(
        "HTTPS needs certificates in {dir}, and {missing} is not there: make them with `gateway certs --conf \
         {conf}` (or point server.yml's certificatePath at a folder holding {CA_CERT}, {SERVER_CERT} and \
         {SERVER_KEY}), or serve plain HTTP on 127.0.0.1 with --dev"
    )]
    Missing { dir: PathBuf, conf: PathBuf, missing: &'static str },
    #[error("{path}: {reason}")]
    File { path: PathBuf, reason: String },
    #[error(
        "{dir} already holds {file}; certificates are not replaced, since clients holding the old CA would be \
         locked out. Move the folder away first to make new ones."
    )]
    Exists { dir: PathBuf, file: &'static str },
    #[error("cannot make the certificates: {0}")]
    Generate(String),
}

/// Makes a CA, a server certificate for `localhost`, the loopback addresses and `hosts`, and a client
/// certificate, all signed by the CA; writes them into `dir` and returns the files written. Refuses to replace
/// existing certificates.
pub fn generate(dir: &Path, passphrase: &Passphrase, hosts: &[String]) -> Result<Vec<PathBuf>, TlsError> {
    if let Some(file) = ALL_FILES.into_iter().find(|file| dir.join(file).exists()) {
        return Err(TlsError::Exists { dir: dir.to_path_buf(), file });
    }
    let generate_error = |e: rcgen::Error| TlsError::Generate(e.to_string());
    let ca_key = KeyPair::generate().map_err(generate_error)?;
    let mut ca_params = CertificateParams::default();
    ca_params.distinguished_name.push(DnType::CommonName, "Gateway CA");
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    set_validity(&mut ca_params);
    let ca_cert = ca_params.self_signed(&ca_key).map_err(generate_error)?;
    let issuer = Issuer::new(ca_params, &ca_key);

    let mut names = vec!["localhost".to_string(), "127.0.0.1".to_string(), "::1".to_string()];
    names.extend(hosts.iter().filter(|host| !names.contains(host)).cloned().collect::<Vec<_>>());
    let (server_cert, server_key) = leaf(&issuer, names, "localhost", ExtendedKeyUsagePurpose::ServerAuth, None)?;
    let (client_cert, client_key) =
        leaf(&issuer, Vec::new(), "Gateway client", ExtendedKeyUsagePurpose::ClientAuth, None)?;

    std::fs::create_dir_all(dir).map_err(|e| TlsError::File { path: dir.to_path_buf(), reason: e.to_string() })?;
    let files = [
        (CA_KEY, encrypt_key(&ca_key, passphrase)?),
        (CA_CERT, ca_cert.pem()),
        (SERVER_KEY, encrypt_key(&server_key, passphrase)?),
        (SERVER_CERT, server_cert.pem()),
        (CLIENT_KEY, encrypt_key(&client_key, passphrase)?),
        (CLIENT_CERT, client_cert.pem()),
    ];
    write_all(dir, &files)
}

/// Makes a client certificate of `role`, signed by the CA in `dir`, and writes it into `dir/<role>/` beside a copy
/// of the CA certificate: a folder to hand a client (Hummingbot's certs folder) that may do only what `role` may.
pub fn issue_client(dir: &Path, passphrase: &Passphrase, role: Role) -> Result<Vec<PathBuf>, TlsError> {
    let ca_pem =
        std::fs::read_to_string(dir.join(CA_CERT)).map_err(|e| file_error(&dir.join(CA_CERT), e.to_string()))?;
    let PrivateKeyDer::Pkcs8(ca_key) = open_key(&dir.join(CA_KEY), passphrase)? else {
        unreachable!("open_key reads PKCS#8 only")
    };
    let generate_error = |e: rcgen::Error| TlsError::Generate(e.to_string());
    let ca_key = KeyPair::try_from(&ca_key).map_err(generate_error)?;
    let issuer = Issuer::from_ca_cert_pem(&ca_pem, &ca_key).map_err(generate_error)?;
    let (cert, key) = leaf(&issuer, Vec::new(), "Gateway client", ExtendedKeyUsagePurpose::ClientAuth, Some(role))?;
    let folder = dir.join(role.name());
    if let Some(file) = [CA_CERT, CLIENT_CERT, CLIENT_KEY].into_iter().find(|file| folder.join(file).exists()) {
        return Err(TlsError::Exists { dir: folder, file });
    }
    std::fs::create_dir_all(&folder).map_err(|e| file_error(&folder, e.to_string()))?;
    write_all(&folder, &[(CA_CERT, ca_pem), (CLIENT_KEY, encrypt_key(&key, passphrase)?), (CLIENT_CERT, cert.pem())])
}

/// A certificate for `names` signed by `issuer`, with its new key; a client one of `role` names it in its OU.
fn leaf(
    issuer: &Issuer<'_, &KeyPair>,
    names: Vec<String>,
    common_name: &str,
    usage: ExtendedKeyUsagePurpose,
    role: Option<Role>,
) -> Result<(rcgen::Certificate, KeyPair), TlsError> {
    let generate_error = |e: rcgen::Error| TlsError::Generate(e.to_string());
    let key = KeyPair::generate().map_err(generate_error)?;
    let mut params = CertificateParams::new(names).map_err(generate_error)?;
    params.distinguished_name.push(DnType::CommonName, common_name);
    if let Some(role) = role {
        params.distinguished_name.push(DnType::OrganizationalUnitName, role.name());
    }
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    params.extended_key_usages = vec![usage];
    params.use_authority_key_identifier_extension = true;
    set_validity(&mut params);
    let cert = params.signed_by(&key, issuer).map_err(generate_error)?;
    Ok((cert, key))
}

fn write_all(dir: &Path, files: &[(&str, String)]) -> Result<Vec<PathBuf>, TlsError> {
    let mut written = Vec::new();
    for (name, contents) in files {
        let path = dir.join(name);
        write_private(&path, contents).map_err(|e| file_error(&path, e.to_string()))?;
        written.push(path);
    }
    Ok(written)
}

fn set_validity(params: &mut CertificateParams) {
    // An hour of slack for clocks a little behind ours.
    let now = time::OffsetDateTime::now_utc();
    params.not_before = now - time::Duration::hours(1);
    params.not_after = now + time::Duration::days(VALID_FOR_DAYS);
}

/// Owner-only permissions: the files hold keys (encrypted, but a guessable passphrase should not be helped).
fn write_private(path: &Path, contents: &str) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = std::fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(path)?;
    file.write_all(contents.as_bytes())
}

fn encrypt_key(key: &KeyPair, passphrase: &Passphrase) -> Result<String, TlsError> {
    let generate_error = |e: String| TlsError::Generate(e);
    let der = key.serialize_der();
    let info = PrivateKeyInfo::try_from(der.as_slice()).map_err(|e| generate_error(e.to_string()))?;
    let mut salt = [0u8; 16];
    let mut iv = [0u8; 16];
    let random = rustls::crypto::aws_lc_rs::default_provider().secure_random;
    random.fill(&mut salt).and_then(|()| random.fill(&mut iv)).map_err(|e| generate_error(format!("{e:?}")))?;
    let params = pbes2::Parameters::pbkdf2_sha256_aes256cbc(KEY_ENCRYPTION_ROUNDS, &salt, &iv)
        .map_err(|e| generate_error(e.to_string()))?;
    let encrypted = info.encrypt_with_params(params, passphrase.expose()).map_err(|e| generate_error(e.to_string()))?;
    let pem = encrypted
        .to_pem(EncryptedPrivateKeyInfo::PEM_LABEL, LineEnding::LF)
        .map_err(|e| generate_error(e.to_string()))?;
    Ok(pem.to_string())
}

/// The TLS settings `start` serves with: the server certificate and its key (opened with the passphrase), and
/// client certificates required, checked against the CA.
pub fn server_config(
    dir: &Path,
    conf_dir: &Path,
    passphrase: &Passphrase,
) -> Result<Arc<rustls::ServerConfig>, TlsError> {
    for file in [CA_CERT, SERVER_CERT, SERVER_KEY] {
        if !dir.join(file).exists() {
            return Err(TlsError::Missing { dir: dir.to_path_buf(), conf: conf_dir.to_path_buf(), missing: file });
        }
    }
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let ca_path = dir.join(CA_CERT);
    let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(ca_roots(dir)?), provider.clone())
        .build()
        .map_err(|e| file_error(&ca_path, e.to_string()))?;
    let key_path = dir.join(SERVER_KEY);
    let key = open_key(&key_path, passphrase)?;
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| TlsError::Generate(e.to_string()))?
        .with_client_cert_verifier(verifier)
        .with_single_cert(read_certs(&dir.join(SERVER_CERT))?, key)
        .map_err(|e| file_error(&key_path, format!("does not fit {SERVER_CERT}: {e}")))?;
    // The server speaks HTTP/1.1 (what Hummingbot's aiohttp client uses); offering h2 would strand clients.
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

/// The TLS settings of a client of the gateway serving from `dir` (`gateway health`): its CA as the only root,
/// and the client certificate, its key opened with the passphrase.
pub fn client_config(dir: &Path, passphrase: &Passphrase) -> Result<rustls::ClientConfig, TlsError> {
    let key_path = dir.join(CLIENT_KEY);
    let key = open_key(&key_path, passphrase)?;
    rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::aws_lc_rs::default_provider()))
        .with_safe_default_protocol_versions()
        .map_err(|e| TlsError::Generate(e.to_string()))?
        .with_root_certificates(ca_roots(dir)?)
        .with_client_auth_cert(read_certs(&dir.join(CLIENT_CERT))?, key)
        .map_err(|e| file_error(&key_path, format!("does not fit {CLIENT_CERT}: {e}")))
}

fn file_error(path: &Path, reason: String) -> TlsError {
    TlsError::File { path: path.to_path_buf(), reason }
}

/// The PEM certificates of a file; none is an error.
fn read_certs(path: &Path) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let certs = CertificateDer::pem_file_iter(path)
        .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
        .map_err(|e| file_error(path, e.to_string()))?;
    if certs.is_empty() {
        return Err(file_error(path, "holds no PEM certificate".into()));
    }
    Ok(certs)
}

/// The folder's CA, as the one root both sides trust.
fn ca_roots(dir: &Path) -> Result<rustls::RootCertStore, TlsError> {
    let ca_path = dir.join(CA_CERT);
    let mut roots = rustls::RootCertStore::empty();
    for cert in read_certs(&ca_path)? {
        roots.add(cert).map_err(|e| file_error(&ca_path, e.to_string()))?;
    }
    Ok(roots)
}

/// A PKCS#8 key, encrypted under the passphrase (as `gateway certs` writes them) or not.
fn open_key(path: &Path, passphrase: &Passphrase) -> Result<PrivateKeyDer<'static>, TlsError> {
    let unreadable = |reason: String| TlsError::File { path: path.to_path_buf(), reason };
    let text = std::fs::read_to_string(path).map_err(|e| unreadable(e.to_string()))?;
    if text.contains("Proc-Type: 4,ENCRYPTED") {
        return Err(unreadable(format!(
            "the key is in OpenSSL's legacy encrypted format; convert it once with `openssl pkcs8 -topk8 -v2 \
             aes-256-cbc -in {0} -out {0}.pk8 && mv {0}.pk8 {0}` (give the same passphrase both times)",
            path.display()
        )));
    }
    let (label, document) = pkcs8::Document::from_pem(&text).map_err(|e| unreadable(format!("not a PEM key: {e}")))?;
    let der = match label {
        EncryptedPrivateKeyInfo::PEM_LABEL => {
            let encrypted = EncryptedPrivateKeyInfo::try_from(document.as_bytes())
                .map_err(|e| unreadable(format!("not an encrypted PKCS#8 key: {e}")))?;
            let decrypted = encrypted.decrypt(passphrase.expose()).map_err(|_| {
                unreadable("the passphrase does not open this key; start with the passphrase it was made with".into())
            })?;
            decrypted.as_bytes().to_vec()
        }
        PrivateKeyInfo::PEM_LABEL => document.as_bytes().to_vec(),
        other => {
            return Err(unreadable(format!(
                "holds a `{other}`; the key must be PKCS#8 (`openssl pkcs8 -topk8 -v2 aes-256-cbc -in {0} -out \
                 {0}.pk8` converts it)",
                path.display()
            )));
        }
    };
    Ok(PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(der)))
}

/// The role a client certificate names in its subject's OU (the narrowest, if it names several); `admin` when it
/// names none, as the certificates Hummingbot already holds do. One that cannot be read gets `read`.
pub fn role_of(certificate: &CertificateDer<'_>) -> Role {
    let Ok((_, certificate)) = x509_parser::parse_x509_certificate(certificate) else { return Role::Read };
    certificate
        .subject()
        .iter_organizational_unit()
        .filter_map(|unit| unit.as_str().ok().and_then(Role::named))
        .min()
        .unwrap_or(Role::Admin)
}

/// A TCP listener that hands the server (`connections::serve`) only connections whose TLS handshake (client
/// certificate included) succeeded. Handshakes run in their own tasks, so a slow or hostile client never holds up
/// the others.
pub struct TlsListener {
    established: tokio::sync::mpsc::Receiver<(TlsStream<TcpStream>, Peer)>,
    local_addr: SocketAddr,
    accepting: tokio::task::AbortHandle,
}

impl TlsListener {
    pub fn new(listener: TcpListener, config: Arc<rustls::ServerConfig>) -> std::io::Result<TlsListener> {
        let local_addr = listener.local_addr()?;
        let (sender, established) = tokio::sync::mpsc::channel(64);
        let handshake = Handshake {
            acceptor: tokio_rustls::TlsAcceptor::from(config),
            at_once: Arc::new(tokio::sync::Semaphore::new(HANDSHAKES_AT_ONCE)),
            refusals: Arc::new(Refusals::default()),
            established: sender,
        };
        let per_peer = PerPeer::new(UNSERVED_PER_PEER);
        let accepting = tokio::spawn(async move {
            // The first line after a whole interval, not at once: one line per interval, whatever the start.
            let first = tokio::time::Instant::now() + REFUSALS_LOGGED_EVERY;
            let mut log_refusals = tokio::time::interval_at(first, REFUSALS_LOGGED_EVERY);
            loop {
                let accepted = tokio::select! {
                    accepted = listener.accept() => accepted,
                    _ = log_refusals.tick() => {
                        handshake.refusals.log();
                        continue;
                    }
                };
                let (tcp, peer) = match accepted {
                    Ok(connection) => connection,
                    Err(e) => {
                        // Out of file descriptors and the like: wait a little rather than spin.
                        tracing::warn!(error = %e, "cannot accept a connection");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                };
                let _ = tcp.set_nodelay(true);
                let slot = per_peer.enter(peer.ip());
                tokio::spawn(handshake.clone().run(tcp, peer, slot));
            }
        })
        .abort_handle();
        Ok(TlsListener { established, local_addr, accepting })
    }
}

/// What each connection's handshake task needs.
#[derive(Clone)]
struct Handshake {
    acceptor: tokio_rustls::TlsAcceptor,
    at_once: Arc<tokio::sync::Semaphore>,
    refusals: Arc<Refusals>,
    established: tokio::sync::mpsc::Sender<(TlsStream<TcpStream>, Peer)>,
}

impl Handshake {
    /// Waits for the client's first bytes, then for a turn and the handshake, and hands the connection over;
    /// every way it can end before that is counted, none logged on its own.
    async fn run(self, tcp: TcpStream, peer: SocketAddr, slot: PeerSlot) {
        let refused = tokio::select! {
            refused = self.complete(tcp, peer) => refused,
            () = slot.displaced() => Some(("closed for a newer connection from the same address", None)),
        };
        if let Some((reason, detail)) = refused {
            self.refusals.count(reason, detail);
        }
    }

    async fn complete(&self, tcp: TcpStream, peer: SocketAddr) -> Option<(&'static str, Option<String>)> {
        // Peeked, not read: the handshake reads it. Readiness alone may be spurious, and an end of stream is none.
        match tokio::time::timeout(FIRST_BYTES_TIMEOUT, tcp.peek(&mut [0])).await {
            Ok(Ok(0)) => return Some(("closed before sending anything", None)),
            Ok(Ok(_)) => {}
            Ok(Err(e)) => return Some(("lost before the handshake", Some(e.to_string()))),
            Err(_) => return Some(("sent nothing", None)),
        }
        let handshake = tokio::time::timeout(HANDSHAKE_TIMEOUT, async {
            let _turn = self.at_once.acquire().await.expect("never closed");
            self.acceptor.accept(tcp).await
        });
        match handshake.await {
            Ok(Ok(stream)) => {
                let client = stream.get_ref().1.peer_certificates().and_then(<[_]>::first);
                let role = client.map_or(Role::Read, |certificate| role_of(certificate));
                let _ = self.established.send((stream, Peer { addr: peer, role })).await;
                None
            }
            Ok(Err(e)) => Some(("TLS handshake refused", Some(format!("{peer}: {e}")))),
            Err(_) => Some(("TLS handshake unfinished", None)),
        }
    }
}

impl Drop for TlsListener {
    fn drop(&mut self) {
        self.accepting.abort();
    }
}

impl axum::serve::Listener for TlsListener {
    type Io = TlsStream<TcpStream>;
    type Addr = Peer;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        match self.established.recv().await {
            Some(connection) => connection,
            None => std::future::pending().await,
        }
    }

    fn local_addr(&self) -> std::io::Result<Peer> {
        Ok(Peer::from(self.local_addr))
    }
}
