//! TLS for every face that talks over a network: the server side of `scimock serve
//! --tls-cert/--tls-key` ([`ServerTls`]) and the client side of `replay` and `record`'s
//! upstream ([`ClientTls`]). rustls with the *ring* provider; the client trusts the
//! platform's roots plus any `--ca-cert` files, or nothing at all with `--insecure`
//! (self-signed staging endpoints). Entra itself only talks https to a SCIM endpoint
//! (Microsoft Learn, "Tutorial: Develop and plan provisioning for a SCIM endpoint in
//! Microsoft Entra ID": TLS 1.2 with a certificate from a public root), so a stand-in
//! that could not would be no stand-in.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, SignatureScheme};

/// Why a TLS configuration could not be built.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// A PEM file could not be read or holds nothing usable.
    #[error("{path}: {reason}")]
    Pem { path: String, reason: String },
    /// rustls refused the certificate, key or protocol settings.
    #[error("TLS configuration: {0}")]
    Config(#[from] rustls::Error),
}

fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

fn pem_error(path: &Path, reason: impl std::fmt::Display) -> TlsError {
    TlsError::Pem {
        path: path.display().to_string(),
        reason: reason.to_string(),
    }
}

fn certificates(path: &Path) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let certs = CertificateDer::pem_file_iter(path)
        .map_err(|e| pem_error(path, e))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| pem_error(path, e))?;
    if certs.is_empty() {
        return Err(pem_error(path, "no PEM certificate in the file"));
    }
    Ok(certs)
}

/// A server certificate chain and its private key, as PEM files.
#[derive(Debug, Clone)]
pub struct ServerTls {
    config: Arc<rustls::ServerConfig>,
}

impl ServerTls {
    /// Loads the chain (`cert`, leaf first) and the key (`key`: PKCS#8, PKCS#1 or SEC1).
    pub fn from_pem_files(cert: &Path, key: &Path) -> Result<ServerTls, TlsError> {
        let chain = certificates(cert)?;
        let key = PrivateKeyDer::from_pem_file(key).map_err(|e| pem_error(key, e))?;
        let mut config = rustls::ServerConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()?
            .with_no_client_auth()
            .with_single_cert(chain, key)?;
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(ServerTls {
            config: Arc::new(config),
        })
    }

    pub(crate) fn acceptor(&self) -> tokio_rustls::TlsAcceptor {
        tokio_rustls::TlsAcceptor::from(Arc::clone(&self.config))
    }
}

/// What an https client trusts.
#[derive(Debug, Clone, Default)]
pub struct ClientTls {
    /// Extra trusted roots (PEM files), on top of the platform's.
    pub ca_certs: Vec<PathBuf>,
    /// Accept any certificate (self-signed staging). The caller warns about it.
    pub insecure: bool,
}

impl ClientTls {
    /// The rustls client configuration: platform roots plus `ca_certs`, or no checks at
    /// all when `insecure`. A platform store that cannot be read is not an error when
    /// `ca_certs` names a root; with neither, no https server could be trusted.
    pub fn client_config(&self) -> Result<rustls::ClientConfig, TlsError> {
        let builder = rustls::ClientConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()?;
        if self.insecure {
            return Ok(builder
                .dangerous()
                .with_custom_certificate_verifier(Arc::new(AnyCertificate(provider())))
                .with_no_client_auth());
        }
        let mut roots = rustls::RootCertStore::empty();
        for path in &self.ca_certs {
            for cert in certificates(path)? {
                roots.add(cert).map_err(|e| pem_error(path, e))?;
            }
        }
        let native = rustls_native_certs::load_native_certs();
        // Platform stores hold a few odd certificates now and then; skip those.
        let _ = roots.add_parsable_certificates(native.certs);
        Ok(builder.with_root_certificates(roots).with_no_client_auth())
    }

    /// A hyper connector speaking http:// and https://.
    #[cfg(feature = "entra")]
    pub(crate) fn connector(
        &self,
    ) -> Result<
        hyper_rustls::HttpsConnector<hyper_util::client::legacy::connect::HttpConnector>,
        TlsError,
    > {
        Ok(hyper_rustls::HttpsConnectorBuilder::new()
            .with_tls_config(self.client_config()?)
            .https_or_http()
            .enable_http1()
            .build())
    }
}

/// `--insecure`: every certificate is accepted, signatures are still checked so the
/// handshake itself stays well-formed.
#[derive(Debug)]
struct AnyCertificate(Arc<CryptoProvider>);

impl ServerCertVerifier for AnyCertificate {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}
