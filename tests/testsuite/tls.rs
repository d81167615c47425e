//! https everywhere: `MockServer` and `scimock serve` over TLS, `Runner` and `Recorder` as
//! https clients with an extra root (`--ca-cert`), an untrusted certificate refused, and
//! `--insecure` accepting it. The certificate is generated per test for 127.0.0.1 only.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use scimock::entra::Dialect;
use scimock::replay::{Outcome, Runner, RunnerConfig, Scenario};
use scimock::tls::{ClientTls, ServerTls};
use scimock::MockServer;

/// A self-signed certificate for 127.0.0.1, written as `cert.pem` and `key.pem` in `dir`.
fn certificate(dir: &Path) -> (PathBuf, PathBuf) {
    let generated = rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_owned()]).unwrap();
    let (cert, key) = (dir.join("cert.pem"), dir.join("key.pem"));
    std::fs::write(&cert, generated.cert.pem()).unwrap();
    std::fs::write(&key, generated.signing_key.serialize_pem()).unwrap();
    (cert, key)
}

fn https_server(cert: &Path, key: &Path) -> MockServer {
    MockServer::builder()
        .token("t")
        .tls(ServerTls::from_pem_files(cert, key).unwrap())
        .start_blocking()
}

fn picked() -> Vec<Scenario> {
    scimock::replay::builtin_scenarios()
        .unwrap()
        .into_iter()
        .filter(|s| ["test_connection", "disable_user"].contains(&s.name.as_str()))
        .collect()
}

async fn replay(url: String, tls: ClientTls) -> scimock::replay::Report {
    let mut config = RunnerConfig::new(url);
    config.token = Some("t".into());
    config.dialects = vec![Dialect::Legacy];
    config.tls = tls;
    config.timeout = Duration::from_secs(5);
    Runner::new(config).unwrap().run(&picked()).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replay_passes_over_https_when_the_ca_certificate_is_given() {
    let dir = tempfile::tempdir().unwrap();
    let (cert, key) = certificate(dir.path());
    let server = https_server(&cert, &key);
    assert!(server.base_url().starts_with("https://127.0.0.1:"));
    let tls = ClientTls {
        ca_certs: vec![cert],
        insecure: false,
    };
    let report = replay(server.base_url(), tls).await;
    let text = scimock::replay::report::terminal(&report, false);
    assert_eq!(report.summary.passed, 2, "{text}");
    assert_eq!(report.exit_code(), 0, "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replay_refuses_an_untrusted_certificate_in_one_stop_and_insecure_accepts_it() {
    let dir = tempfile::tempdir().unwrap();
    let (cert, key) = certificate(dir.path());
    let server = https_server(&cert, &key);
    let refused = replay(server.base_url(), ClientTls::default()).await;
    assert!(refused.unreachable, "{refused:?}");
    assert_eq!(refused.exit_code(), 2);
    let why = scimock::replay::report::unreachable_line(&refused);
    assert!(why.contains("cannot connect"), "{why}");
    assert!(why.to_ascii_lowercase().contains("certificate"), "{why}");
    let insecure = ClientTls {
        ca_certs: Vec::new(),
        insecure: true,
    };
    let accepted = replay(server.base_url(), insecure).await;
    assert!(accepted
        .scenarios
        .iter()
        .all(|s| s.outcome == Outcome::Passed));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn record_forwards_to_an_https_upstream() {
    let dir = tempfile::tempdir().unwrap();
    let (cert, key) = certificate(dir.path());
    let upstream = https_server(&cert, &key);
    let tls = ClientTls {
        ca_certs: vec![cert],
        insecure: false,
    };
    let recorder = scimock::record::Recorder::start_with_tls(
        &upstream.base_url(),
        "127.0.0.1:0",
        "via_tls",
        None,
        &tls,
    )
    .await
    .unwrap();
    let report = replay(format!("http://{}", recorder.addr()), ClientTls::default()).await;
    assert_eq!(report.summary.failed, 0);
    assert!(!recorder.scenario().steps.is_empty());
    recorder.stop().await;
}

/// Kills the child on drop, so a failing assertion leaves no server behind.
pub(crate) struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// `scimock serve --listen 127.0.0.1:0 --port-file F` plus `args`; waits (≤ 20 s) for the port.
pub(crate) fn spawn_serve(dir: &Path, args: &[&str]) -> (Killed, u16) {
    let port_file = dir.join("port");
    let child = Command::new(env!("CARGO_BIN_EXE_scimock"))
        .args(["serve", "--listen", "127.0.0.1:0", "--port-file"])
        .arg(&port_file)
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let child = Killed(child);
    let started = Instant::now();
    loop {
        if let Some(port) = std::fs::read_to_string(&port_file)
            .ok()
            .and_then(|p| p.trim().parse().ok())
        {
            return (child, port);
        }
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "serve did not start"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn the_replay_binary_passes_against_the_serve_binary_over_https() {
    let dir = tempfile::tempdir().unwrap();
    let (cert, key) = certificate(dir.path());
    let (cert_s, key_s) = (cert.to_str().unwrap(), key.to_str().unwrap());
    let (_serve, port) = spawn_serve(
        dir.path(),
        &["--no-auth", "--tls-cert", cert_s, "--tls-key", key_s],
    );
    let out = Command::new(env!("CARGO_BIN_EXE_scimock"))
        .args(["replay", &format!("https://127.0.0.1:{port}/scim/v2")])
        .args(["--ca-cert", cert_s, "--timeout", "5"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(text.contains(" 0 failed"), "{text}");
}

/// One https connection from a std thread, for the listener tests (issue 32, item 4): a
/// rustls client over a blocking socket with read timeouts, trusting `cert`.
struct TlsClient(rustls::StreamOwned<rustls::ClientConnection, std::net::TcpStream>);

impl TlsClient {
    /// Connects and completes the handshake, or says why not.
    fn connect(addr: std::net::SocketAddr, cert: &Path) -> std::io::Result<TlsClient> {
        let tcp = std::net::TcpStream::connect(addr)?;
        tcp.set_read_timeout(Some(Duration::from_secs(10)))?;
        tcp.set_write_timeout(Some(Duration::from_secs(10)))?;
        let trust = ClientTls {
            ca_certs: vec![cert.to_owned()],
            insecure: false,
        };
        let config = trust.client_config().map_err(std::io::Error::other)?;
        let name = rustls::pki_types::ServerName::try_from("127.0.0.1").unwrap();
        let conn = rustls::ClientConnection::new(std::sync::Arc::new(config), name)
            .map_err(std::io::Error::other)?;
        let mut stream = rustls::StreamOwned::new(conn, tcp);
        while stream.conn.is_handshaking() {
            stream.conn.complete_io(&mut stream.sock)?;
        }
        Ok(TlsClient(stream))
    }

    /// `GET path` on this connection; the whole answer (head and `Content-Length` body).
    fn get(&mut self, path: &str) -> std::io::Result<String> {
        use std::io::{Read, Write};
        write!(self.0, "GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")?;
        self.0.flush()?;
        let mut got = Vec::new();
        let mut buf = [0u8; 4096];
        loop {
            let n = self.0.read(&mut buf)?;
            if n == 0 {
                break;
            }
            got.extend_from_slice(&buf[..n]);
            let text = String::from_utf8_lossy(&got);
            if let Some((head, body)) = text.split_once("\r\n\r\n") {
                let length = head
                    .lines()
                    .find_map(|l| {
                        let (k, v) = l.split_once(':')?;
                        k.eq_ignore_ascii_case("content-length")
                            .then(|| v.trim().parse::<usize>().ok())?
                    })
                    .unwrap_or(0);
                if body.len() >= length {
                    break;
                }
            }
        }
        Ok(String::from_utf8_lossy(&got).into_owned())
    }
}

fn capped_https_server(cert: &Path, key: &Path, max: usize) -> MockServer {
    MockServer::builder()
        .no_auth()
        .max_connections(max)
        // Longer than the test: held connections stay open until the test drops them.
        .header_read_timeout(Duration::from_secs(60))
        .tls(ServerTls::from_pem_files(cert, key).unwrap())
        .start_blocking()
}

/// Issue 32, item 4: with `max_connections(2)` on a TLS port, two open TLS connections
/// fill the cap; a third, while they are open, completes its handshake and reads a 503
/// with `Retry-After` over TLS (not plaintext on a TLS socket); once one closes, a new
/// TLS connection is served.
#[test]
fn over_capacity_on_a_tls_port_is_a_503_over_tls_and_tls_connections_count() {
    let dir = tempfile::tempdir().unwrap();
    let (cert, key) = certificate(dir.path());
    let server = capped_https_server(&cert, &key, 2);
    let addr = server.address();
    let mut held: Vec<TlsClient> = (0..2)
        .map(|_| {
            let mut c = TlsClient::connect(addr, &cert).unwrap();
            let answer = c.get("/_mock/health").unwrap();
            assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
            c
        })
        .collect();
    let mut third = TlsClient::connect(addr, &cert).expect("a TLS handshake over capacity");
    let answer = third.get("/_mock/health").unwrap();
    assert!(answer.starts_with("HTTP/1.1 503"), "{answer}");
    let lower = answer.to_ascii_lowercase();
    assert!(lower.contains("retry-after: 1"), "{answer}");
    assert!(answer.contains("already serves 2 connections"), "{answer}");
    // The held ones are still served.
    assert!(held[0]
        .get("/_mock/health")
        .unwrap()
        .starts_with("HTTP/1.1 200"));
    drop(held.pop());
    crate::support::wait_until(
        "a TLS connection served again",
        Duration::from_secs(10),
        || {
            TlsClient::connect(addr, &cert)
                .and_then(|mut c| c.get("/_mock/health"))
                .is_ok_and(|a| a.starts_with("HTTP/1.1 200"))
        },
    );
}

/// Issue 32, item 4: a plaintext request to a full TLS port never gets a plaintext
/// answer (the over-capacity 503 used to be written in the clear before any handshake).
#[test]
fn a_plaintext_client_on_a_full_tls_port_gets_no_plaintext_answer() {
    use std::io::{Read, Write};
    let dir = tempfile::tempdir().unwrap();
    let (cert, key) = certificate(dir.path());
    let server = capped_https_server(&cert, &key, 1);
    let mut held = TlsClient::connect(server.address(), &cert).unwrap();
    assert!(held
        .get("/_mock/health")
        .unwrap()
        .starts_with("HTTP/1.1 200"));
    let mut plain = std::net::TcpStream::connect(server.address()).unwrap();
    plain
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    plain
        .write_all(b"GET /_mock/health HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    let mut got = Vec::new();
    let _ = plain.read_to_end(&mut got);
    assert!(
        !got.starts_with(b"HTTP/"),
        "{}",
        String::from_utf8_lossy(&got)
    );
}
