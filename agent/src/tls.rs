//! TLS on the gRPC listener, certificates reloaded without dropping connections, optional
//! client-certificate verification (mutual TLS), and the TLS settings of calls to other
//! agents.
//!
//! [`ReloadingTls`] keeps the current `rustls` server configuration; [`incoming`] accepts
//! TCP connections and runs each handshake in a task of its own (a slow or failing client
//! never holds up the others) with the configuration current at that moment. When the
//! certificate, key or CA files change, [`ReloadingTls::watch`] builds a new configuration
//! for the connections that follow; open connections keep their session. A change that does
//! not load (a half-written file, a key that does not match) is logged and the previous
//! configuration kept.

use std::sync::{Arc, RwLock};
use std::time::{Duration, SystemTime};

use anyhow::Context;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::WebPkiClientVerifier;
use rustls::{RootCertStore, ServerConfig};
use streamhouse_core::config::TlsConfig;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, watch};
use tokio_rustls::TlsAcceptor;
use tokio_rustls::server::TlsStream;
use tonic::transport::{Certificate, ClientTlsConfig, Identity};
use tracing::{debug, info, warn};

/// How long a client may take to complete its handshake.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// The crypto provider every TLS configuration of the agent uses.
fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

fn read(path: &str, what: &str) -> anyhow::Result<Vec<u8>> {
    std::fs::read(path).with_context(|| format!("cannot read {what} {path:?}"))
}

fn certs(path: &str, what: &str) -> anyhow::Result<Vec<CertificateDer<'static>>> {
    let pem = read(path, what)?;
    let certs = CertificateDer::pem_slice_iter(&pem)
        .collect::<Result<Vec<_>, _>>()
        .with_context(|| format!("{what} {path:?} is not PEM"))?;
    anyhow::ensure!(!certs.is_empty(), "{what} {path:?} holds no certificate");
    Ok(certs)
}

fn roots(path: &str, what: &str) -> anyhow::Result<RootCertStore> {
    let mut roots = RootCertStore::empty();
    for c in certs(path, what)? {
        roots
            .add(c)
            .with_context(|| format!("{what} {path:?} holds an invalid CA certificate"))?;
    }
    Ok(roots)
}

/// A server configuration from the files `cfg` names.
fn server_config(cfg: &TlsConfig) -> anyhow::Result<ServerConfig> {
    let chain = certs(&cfg.cert_file, "tls.cert_file")?;
    // The key's own error would quote the file; say only which setting is wrong.
    let key = PrivateKeyDer::from_pem_slice(&read(&cfg.key_file, "tls.key_file")?)
        .map_err(|_| anyhow::anyhow!("tls.key_file {:?} holds no PEM private key", cfg.key_file))?;
    let builder = ServerConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .context("TLS protocol versions")?;
    let builder = if cfg.client_ca_file.is_empty() {
        builder.with_no_client_auth()
    } else {
        let roots = roots(&cfg.client_ca_file, "tls.client_ca_file")?;
        let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider())
            .build()
            .context("client certificate verifier")?;
        builder.with_client_cert_verifier(verifier)
    };
    let mut config = builder
        .with_single_cert(chain, key)
        .context("tls.cert_file and tls.key_file do not form a usable pair")?;
    config.alpn_protocols = vec![b"h2".to_vec()];
    Ok(config)
}

/// When each of the files was last modified (`None` for a file that cannot be read now).
fn stamps(cfg: &TlsConfig) -> Vec<Option<SystemTime>> {
    [&cfg.cert_file, &cfg.key_file, &cfg.client_ca_file]
        .into_iter()
        .filter(|f| !f.is_empty())
        .map(|f| std::fs::metadata(f).and_then(|m| m.modified()).ok())
        .collect()
}

/// The listener's TLS configuration, and how this agent calls other agents, both reloaded
/// when their files change.
#[derive(Debug)]
pub struct ReloadingTls {
    cfg: TlsConfig,
    current: RwLock<Arc<ServerConfig>>,
    /// The client configuration for calls to other agents, with a generation that each
    /// reload bumps (so connections opened with an older one are replaced).
    peer: RwLock<(u64, ClientTlsConfig)>,
}

impl ReloadingTls {
    /// Loads the files `cfg` names; an error says which one is wrong.
    pub fn load(cfg: &TlsConfig) -> anyhow::Result<Arc<Self>> {
        Ok(Arc::new(Self {
            current: RwLock::new(Arc::new(server_config(cfg)?)),
            peer: RwLock::new((0, peer_client_config(cfg)?)),
            cfg: cfg.clone(),
        }))
    }

    /// How to call other agents now.
    pub fn peer(&self) -> ClientTlsConfig {
        self.peer.read().expect("poisoned").1.clone()
    }

    /// The generation of [`ReloadingTls::peer`]'s configuration: it grows with each reload.
    pub fn peer_generation(&self) -> u64 {
        self.peer.read().expect("poisoned").0
    }

    fn acceptor(&self) -> TlsAcceptor {
        TlsAcceptor::from(self.current.read().expect("poisoned").clone())
    }

    /// Checks the files every `tls.reload_interval_ms` until `stop` flips, loading them
    /// again when one changed.
    pub async fn watch(self: Arc<Self>, mut stop: watch::Receiver<bool>) {
        let period = Duration::from_millis(self.cfg.reload_interval_ms);
        let mut seen = stamps(&self.cfg);
        loop {
            tokio::select! {
                _ = tokio::time::sleep(period) => {}
                _ = stop.wait_for(|s| *s) => return,
            }
            let now = stamps(&self.cfg);
            if now == seen {
                continue;
            }
            match server_config(&self.cfg).and_then(|c| Ok((c, peer_client_config(&self.cfg)?))) {
                Ok((c, p)) => {
                    *self.current.write().expect("poisoned") = Arc::new(c);
                    let mut peer = self.peer.write().expect("poisoned");
                    *peer = (peer.0 + 1, p);
                    seen = now;
                    info!(cert = %self.cfg.cert_file, "TLS certificate reloaded");
                }
                // Perhaps half written: tried again at the next check.
                Err(e) => {
                    warn!("TLS files changed but do not load ({e:#}); keeping the previous ones")
                }
            }
        }
    }
}

/// TLS connections accepted on `listener`, each handshake in a task of its own; failed
/// handshakes (a wrong or expired client certificate, a plaintext client) are dropped.
pub fn incoming(
    listener: TcpListener,
    tls: Arc<ReloadingTls>,
) -> tokio_stream::wrappers::ReceiverStream<Result<TlsStream<TcpStream>, std::io::Error>> {
    let (tx, rx) = mpsc::channel(64);
    tokio::spawn(async move {
        loop {
            let (tcp, peer) = match listener.accept().await {
                Ok(c) => c,
                Err(e) => {
                    // Out of file descriptors, usually: wait rather than spin.
                    warn!("accepting a connection failed: {e}");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            };
            let _ = tcp.set_nodelay(true);
            // The server is gone: stop accepting.
            if tx.is_closed() {
                return;
            }
            let acceptor = tls.acceptor();
            let tx = tx.clone();
            tokio::spawn(async move {
                match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(tcp)).await {
                    Ok(Ok(stream)) => {
                        let _ = tx.send(Ok(stream)).await;
                    }
                    Ok(Err(e)) => debug!(%peer, "TLS handshake failed: {e}"),
                    Err(_) => debug!(%peer, "TLS handshake timed out"),
                }
            });
        }
    });
    tokio_stream::wrappers::ReceiverStream::new(rx)
}

/// How this agent calls other agents: TLS checked against `tls.peer_ca_file` (else
/// `tls.client_ca_file`, else the system's roots), presenting its own certificate when the
/// cluster uses mutual TLS.
fn peer_client_config(cfg: &TlsConfig) -> anyhow::Result<ClientTlsConfig> {
    let mut c = ClientTlsConfig::new();
    let ca = [&cfg.peer_ca_file, &cfg.client_ca_file]
        .into_iter()
        .find(|f| !f.is_empty());
    c = match ca {
        Some(f) => c.ca_certificate(Certificate::from_pem(read(f, "the CA of other agents")?)),
        None => c.with_native_roots(),
    };
    if !cfg.client_ca_file.is_empty() {
        c = c.identity(Identity::from_pem(
            read(&cfg.cert_file, "tls.cert_file")?,
            read(&cfg.key_file, "tls.key_file")?,
        ));
    }
    Ok(c)
}
