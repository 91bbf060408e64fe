//! TLS on the remote wire (feature `tls`), with rustls: the service presents a certificate
//! and its key (PEM files), the client trusts a CA or pins the service's own certificate (a
//! self-signed one given as the only trusted certificate). The cookie handshake runs inside
//! the TLS session, so a client still proves the cookie, and the wire is encrypted.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer, ServerName};

/// Why TLS could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// A PEM file could not be read or held nothing usable.
    #[error("{path}: {what}")]
    Pem {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        what: String,
    },
    /// rustls refused the certificates or the key.
    #[error("TLS: {0}")]
    Rustls(#[from] rustls::Error),
    /// Not a host name or an IP address.
    #[error("not a server name for TLS: {0:?}")]
    BadName(String),
}

/// rustls on *ring*: a light build (no C toolchain beyond cc, unlike aws-lc-rs). rustls
/// 0.23.48 deprecated it for lacking post-quantum key exchange; the classical suites it
/// offers (TLS 1.3 and 1.2, X25519, ECDSA/RSA/Ed25519) are what this wire needs.
#[allow(deprecated)]
fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

fn certificates(path: &Path) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let pem = |what: String| TlsError::Pem {
        path: path.to_owned(),
        what,
    };
    let certificates = CertificateDer::pem_file_iter(path)
        .map_err(|error| pem(error.to_string()))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|error| pem(error.to_string()))?;
    if certificates.is_empty() {
        return Err(pem("no certificate in it".to_owned()));
    }
    Ok(certificates)
}

/// A service's side of TLS: its certificate chain and key.
#[derive(Clone)]
pub struct TlsServer(pub(crate) Arc<rustls::ServerConfig>);

impl std::fmt::Debug for TlsServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TlsServer")
    }
}

impl TlsServer {
    /// From PEM files: the certificate chain (the service's first) and its private key.
    pub fn from_pem_files(certificate: &Path, key: &Path) -> Result<Self, TlsError> {
        let chain = certificates(certificate)?;
        let key = PrivateKeyDer::from_pem_file(key).map_err(|error| TlsError::Pem {
            path: key.to_owned(),
            what: error.to_string(),
        })?;
        Self::new(chain, key)
    }

    /// From DER: the certificate chain and its private key.
    pub fn new(
        chain: Vec<CertificateDer<'static>>,
        key: PrivateKeyDer<'static>,
    ) -> Result<Self, TlsError> {
        let config = rustls::ServerConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()?
            .with_no_client_auth()
            .with_single_cert(chain, key)?;
        Ok(Self(Arc::new(config)))
    }
}

/// A client's side of TLS: whom it trusts, and the name it expects the service's certificate
/// to carry (by default the address it connects to).
#[derive(Clone)]
pub struct TlsClient {
    pub(crate) config: Arc<rustls::ClientConfig>,
    pub(crate) name: Option<ServerName<'static>>,
}

impl std::fmt::Debug for TlsClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsClient")
            .field("name", &self.name)
            .finish()
    }
}

impl TlsClient {
    /// Trusts the certificates in a PEM file: a CA's, or the service's own self-signed one
    /// (pinning it).
    pub fn trusting_pem_file(path: &Path) -> Result<Self, TlsError> {
        Self::trusting(certificates(path)?)
    }

    /// Trusts these certificates (DER).
    pub fn trusting(certificates: Vec<CertificateDer<'static>>) -> Result<Self, TlsError> {
        let mut roots = rustls::RootCertStore::empty();
        for certificate in certificates {
            roots.add(certificate)?;
        }
        let config = rustls::ClientConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()?
            .with_root_certificates(roots)
            .with_no_client_auth();
        Ok(Self {
            config: Arc::new(config),
            name: None,
        })
    }

    /// Expects the service's certificate to name `name` (a host name or an IP address)
    /// instead of the address connected to.
    pub fn server_name(mut self, name: &str) -> Result<Self, TlsError> {
        let name = ServerName::try_from(name.to_owned())
            .map_err(|_| TlsError::BadName(name.to_owned()))?;
        self.name = Some(name);
        Ok(self)
    }
}
