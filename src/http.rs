//! The HTTPS client of every call (psc-exec, `--init`, psc, and the
//! credential providers the configuration builds): hyper-util's pooled
//! client over hyper-rustls, rustls on *ring*, HTTP/1.1.
//!
//! It is the SDK's own client (aws-smithy-http-client 1.1, rustls on ring)
//! rebuilt for two differences. The first is the CA certificates. That
//! client takes them only as PEM text, decoded by rustls-pki-types' constant-time base64
//! decoder a byte at a time (built for private keys), or through
//! rustls-native-certs, which also reads the file line by line: 1.0 to
//! 1.3 ms of each launch for Debian's bundle (144 roots, 220 KB). Here the
//! bundle is one `read`, and each certificate is decoded with SIMD base64
//! (base64-simd, already in the tree through aws-smithy-types) only as far
//! as its subject, once per process ([`Found`]); only those whose subject a
//! server's chain names are decoded in whole and parsed into trust anchors
//! ([`LazyRoots`]). The second: a certificate signature found valid is not
//! checked again by the handshakes of the process that come to it later
//! ([`Remembered`]); everything else about the chain is. The rest follows
//! the SDK's client (aws-smithy-http-client 1.1.13, `client.rs` and
//! `client/tls/rustls_provider.rs`): its cipher
//! suites, TLS 1.3 and 1.2, `TCP_NODELAY`, the connect timeout around the
//! TCP and TLS handshakes, the read timeout around the wait for the
//! response head, one connection pool per pair of timeouts, the same errors
//! (their causes kept, so that a refused certificate is told apart from a
//! network error, and timeouts and I/O errors stay retryable), connections
//! captured for the orchestrator to poison. Like the SDK's client with its
//! defaults, no proxy.
//!
//! Which certificates (checked by `tests/launcher.rs`): `--ca-bundle`'s
//! file alone ([`trust_only`]); else, with `SSL_CERT_DIR` set, what
//! rustls-native-certs loads (every file of the directories, and
//! `SSL_CERT_FILE` too when set); else the `SSL_CERT_FILE` file; else the
//! system's bundle file that `openssl-probe` finds (not the certificate
//! directory as well, which the SDK would read: hundreds of files for the
//! same certificates); else what rustls-native-certs finds. A certificate
//! webpki cannot parse is skipped, as the SDK skips one of the system's
//! (its PEM path would panic instead).

use std::borrow::Cow;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, OnceLock, PoisonError};
use std::task::{Context, Poll};
use std::time::Duration;

use aws_smithy_async::future::timeout::{TimedOutError, Timeout};
use aws_smithy_async::rt::sleep::{AsyncSleep, SharedAsyncSleep, TokioSleep};
use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::connection::{CaptureSmithyConnection, ConnectionMetadata};
use aws_smithy_runtime_api::client::connector_metadata::ConnectorMetadata;
use aws_smithy_runtime_api::client::http::{
    HttpClient, HttpConnector, HttpConnectorFuture, HttpConnectorSettings, SharedHttpClient,
    SharedHttpConnector,
};
use aws_smithy_runtime_api::client::orchestrator::{HttpRequest, HttpResponse};
use aws_smithy_runtime_api::client::result::ConnectorError;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::body::SdkBody;
use aws_smithy_types::retry::ErrorKind;
use hyper_rustls::{HttpsConnector, MaybeHttpsStream};
use hyper_util::client::legacy::Client as PoolingClient;
use hyper_util::client::legacy::connect::{
    CaptureConnection, HttpConnector as TcpConnector, HttpInfo, capture_connection,
};
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use rustls::pki_types::{CertificateDer, SignatureVerificationAlgorithm, TrustAnchor};

/// The certificates of `--ca-bundle`: when set, the only trust.
static CHOSEN: OnceLock<Vec<CertificateDer<'static>>> = OnceLock::new();

/// The TLS configuration, roots included: built on the first connection
/// settings a client is asked for, once per process.
static TLS: OnceLock<Arc<rustls::ClientConfig>> = OnceLock::new();

/// Trust only `certificates` (`--ca-bundle`'s), whatever the environment
/// says. The first choice of a process holds: psc-exec makes it once,
/// before any client exists.
pub fn trust_only(certificates: Vec<CertificateDer<'static>>) {
    if CHOSEN.set(certificates).is_err() {
        tracing::debug!("CA certificates already chosen");
    }
}

/// The certificates of a PEM file's `CERTIFICATE` sections, in order, and
/// how many sections could not be decoded (skipped, as rustls-native-certs
/// skips them). Other sections (keys, `TRUSTED CERTIFICATE`) are ignored,
/// as rustls-pki-types' reader ignores them.
#[must_use]
pub fn pem_certificates(pem: &[u8]) -> (Vec<CertificateDer<'static>>, usize) {
    let mut certificates = Vec::new();
    let mut undecodable = 0;
    let mut base64 = Vec::new();
    for section in pem_sections(pem) {
        match section.and_then(|body| decode_section(&pem[body], &mut base64)) {
            Some(der) if !der.is_empty() => certificates.push(CertificateDer::from(der)),
            _ => undecodable += 1,
        }
    }
    (certificates, undecodable)
}

/// Where the base64 body of each `CERTIFICATE` section of `pem` lies (the
/// BEGIN line's end included), in order; a last None for a section with
/// no end marker.
fn pem_sections(pem: &[u8]) -> impl Iterator<Item = Option<std::ops::Range<usize>>> {
    const BEGIN: &[u8] = b"-----BEGIN CERTIFICATE-----";
    const END: &[u8] = b"-----END CERTIFICATE-----";
    let begin = memchr::memmem::Finder::new(BEGIN);
    let end = memchr::memmem::Finder::new(END);
    let mut from = Some(0);
    std::iter::from_fn(move || {
        loop {
            let at = from? + begin.find(&pem[from?..])?;
            let body = at + BEGIN.len();
            // A marker counts at the start of a line only (rustls-pki-types).
            if at > 0 && !matches!(pem[at - 1], b'\n' | b'\r') {
                from = Some(body);
                continue;
            }
            let Some(stop) = end.find(&pem[body..]) else {
                // No end marker: rustls-pki-types fails the rest of the file.
                from = None;
                return Some(None);
            };
            from = Some(body + stop + END.len());
            return Some(Some(body..body + stop));
        }
    })
}

/// The bytes of one PEM section's base64 `body` (the BEGIN line's end
/// included), `base64` being scratch space.
///
/// Its lines are joined (line by line, so each is one copy: base64-simd's
/// forgiving decoder removes whitespace a byte at a time, most of the work
/// for a bundle) and decoded as strict padded base64; a body that is not
/// (blanks inside a line, no padding) goes to the forgiving decoder.
fn decode_section(body: &[u8], base64: &mut Vec<u8>) -> Option<Vec<u8>> {
    base64.clear();
    join_lines(body, base64, usize::MAX);
    decode_joined(base64, body)
}

/// Appends the lines of `body`, each trimmed, to `base64` until it holds
/// at least `at_least` characters or `body` ends; where in `body` it
/// stopped (the start of the next line).
fn join_lines(body: &[u8], base64: &mut Vec<u8>, at_least: usize) -> usize {
    let mut start = 0;
    for end in memchr::memchr_iter(b'\n', body).chain(std::iter::once(body.len())) {
        base64.extend_from_slice(body[start..end].trim_ascii());
        start = end + 1;
        if base64.len() >= at_least {
            break;
        }
    }
    start.min(body.len())
}

/// The bytes of `base64`, the joined lines of `body`, as strict padded
/// base64, else of `body` by the forgiving decoder.
fn decode_joined(base64: &[u8], body: &[u8]) -> Option<Vec<u8>> {
    base64_simd::STANDARD
        .decode_to_vec(base64)
        .or_else(|_| base64_simd::forgiving_decode_to_vec(body))
        .ok()
}

/// The certificates of the bundle file `path`, read at once; the reason it
/// cannot be read otherwise.
///
/// # Errors
/// The file cannot be read.
pub fn bundle_certificates(
    path: &std::path::Path,
) -> std::io::Result<(Vec<CertificateDer<'static>>, usize)> {
    std::fs::read(path).map(|pem| pem_certificates(&pem))
}

/// What rustls-native-certs loads from the environment or the system,
/// with its errors logged as the SDK logs them.
fn native_certificates() -> Vec<CertificateDer<'static>> {
    let loaded = rustls_native_certs::load_native_certs();
    if !loaded.errors.is_empty() {
        let errors: Vec<String> = loaded.errors.iter().map(ToString::to_string).collect();
        tracing::debug!(?errors, "native root CA certificate loading errors");
    }
    loaded.certs
}

/// The CA certificates as found, not parsed: decoded already (`--ca-bundle`,
/// `SSL_CERT_DIR`), or the `CERTIFICATE` sections of a bundle file, each
/// decoded when a chain asks for it ([`LazyRoots`]).
#[derive(Default)]
struct Found {
    /// The bundle file's bytes (empty when the certificates came decoded).
    pem: Vec<u8>,
    certificates: Vec<Certificate>,
}

/// One CA certificate as found.
enum Certificate {
    Der(CertificateDer<'static>),
    /// The base64 body of one of [`Found::pem`]'s sections (the BEGIN
    /// line's end included), and its DER from the start to the end of the
    /// subject ([`head`]).
    Pem {
        body: std::ops::Range<usize>,
        head: Vec<u8>,
    },
}

impl Found {
    fn decoded(certificates: Vec<CertificateDer<'static>>) -> Self {
        Self {
            pem: Vec::new(),
            certificates: certificates.into_iter().map(Certificate::Der).collect(),
        }
    }

    /// The sections of bundle file `pem` as [`pem_certificates`] finds
    /// them, each decoded only as far as its subject; how many sections
    /// could not be decoded (skipped). A section whose head decodes but
    /// whose rest does not counts as found, its anchor None when a chain
    /// asks for it ([`LazyRoots::anchor`]), as webpki-unparsable ones are.
    fn bundle(pem: Vec<u8>) -> (Self, usize) {
        let mut certificates = Vec::new();
        let mut undecodable = 0;
        let mut base64 = Vec::new();
        for section in pem_sections(&pem) {
            match section.and_then(|body| Some((head(&pem[body.clone()], &mut base64)?, body))) {
                Some((head, body)) => certificates.push(Certificate::Pem { body, head }),
                None => undecodable += 1,
            }
        }
        (Self { pem, certificates }, undecodable)
    }

    /// The bytes of certificate `at` that may hold a subject: all of a
    /// decoded one, a bundle one's head.
    fn searched(&self, at: usize) -> &[u8] {
        match &self.certificates[at] {
            Certificate::Der(der) => der,
            Certificate::Pem { head, .. } => head,
        }
    }

    /// The whole DER of certificate `at` (None: its body does not decode).
    fn der(&self, at: usize) -> Option<Cow<'_, [u8]>> {
        match &self.certificates[at] {
            Certificate::Der(der) => Some(Cow::Borrowed(der)),
            Certificate::Pem { body, .. } => {
                decode_section(&self.pem[body.clone()], &mut Vec::new()).map(Cow::Owned)
            }
        }
    }
}

/// Base64 characters decoded first for a bundle certificate's head: 384
/// bytes, past the subject of all but a few of Debian's roots.
const HEAD_BASE64: usize = 512;

/// The DER of a PEM section's base64 `body` from its start to the end of
/// the certificate's subject ([`subject_end`]), decoding the first
/// [`HEAD_BASE64`] characters only when they reach that far; all of it
/// when the subject cannot be found. None: the body does not decode.
fn head(body: &[u8], base64: &mut Vec<u8>) -> Option<Vec<u8>> {
    let subject = |der: &[u8]| subject_end(der).filter(|&end| end <= der.len());
    base64.clear();
    let rest = join_lines(body, base64, HEAD_BASE64);
    if base64.len() >= HEAD_BASE64
        && let Ok(mut der) = base64_simd::STANDARD.decode_to_vec(&base64[..HEAD_BASE64])
        && let Some(end) = subject(&der)
    {
        der.truncate(end);
        return Some(der);
    }
    // The rest of the lines, after those joined already.
    join_lines(&body[rest..], base64, usize::MAX);
    let mut der = decode_joined(base64, body).filter(|der| !der.is_empty())?;
    if let Some(end) = subject(&der) {
        der.truncate(end);
    }
    Some(der)
}

/// Where the subject of certificate `der` ends (RFC 5280, 4.1: the
/// Certificate's tbsCertificate holds an optional `[0]` version, then
/// serialNumber, signature, issuer, validity and subject), when `der`
/// starts like one; it may lie beyond `der`'s end, when `der` is a prefix.
fn subject_end(der: &[u8]) -> Option<usize> {
    // The tag, header length and content length of the element at `at`.
    let element = |at: usize| -> Option<(u8, usize, usize)> {
        let tag = *der.get(at)?;
        let first = usize::from(*der.get(at + 1)?);
        if first < 0x80 {
            return Some((tag, 2, first));
        }
        let octets = der
            .get(at + 2..at + 2 + (first & 0x7f))
            .filter(|o| (1..=3).contains(&o.len()))?;
        let length = octets
            .iter()
            .fold(0, |length, &o| length << 8 | usize::from(o));
        Some((tag, 2 + octets.len(), length))
    };
    const SEQUENCE: u8 = 0x30;
    let (SEQUENCE, certificate, _) = element(0)? else {
        return None;
    };
    let (SEQUENCE, tbs, _) = element(certificate)? else {
        return None;
    };
    let mut at = certificate + tbs;
    if der.get(at) == Some(&0xa0) {
        let (_, header, length) = element(at)?;
        at += header + length;
    }
    // serialNumber (INTEGER), signature, issuer, validity, subject.
    for tag in [0x02, SEQUENCE, SEQUENCE, SEQUENCE, SEQUENCE] {
        let (found, header, length) = element(at)?;
        if found != tag {
            return None;
        }
        at += header + length;
    }
    Some(at)
}

/// The certificates of a bundle file (none when it cannot be read: every
/// handshake then fails the certificate check), read at once and decoded
/// as far as their subjects.
fn file_certificates(path: &std::path::Path) -> Found {
    match std::fs::read(path) {
        Ok(pem) => {
            let (found, undecodable) = Found::bundle(pem);
            if undecodable > 0 {
                tracing::debug!(
                    file = %path.display(),
                    undecodable,
                    "CA bundle sections that are not base64 skipped"
                );
            }
            found
        }
        Err(error) => {
            tracing::debug!(
                file = %path.display(),
                error = %crate::error::OsReason(&error),
                "CA bundle file cannot be read"
            );
            Found::default()
        }
    }
}

/// The certificates to trust (see the module's documentation for the
/// order), as found: not parsed, a bundle file's decoded as far as their
/// subjects.
fn trusted_certificates() -> Found {
    let found = if let Some(chosen) = CHOSEN.get() {
        Found::decoded(chosen.clone())
    } else if std::env::var_os("SSL_CERT_DIR").is_some() {
        tracing::debug!("CA certificates from SSL_CERT_DIR (and SSL_CERT_FILE if set)");
        Found::decoded(native_certificates())
    } else if let Some(file) = std::env::var_os("SSL_CERT_FILE") {
        let file = std::path::PathBuf::from(file);
        tracing::debug!(file = %file.display(), "CA certificates from SSL_CERT_FILE");
        file_certificates(&file)
    } else if let Some(file) = openssl_probe::probe().cert_file {
        tracing::debug!(file = %file.display(), "CA certificates from the bundle file");
        file_certificates(&file)
    } else {
        Found::decoded(native_certificates())
    };
    let count = found.certificates.len();
    tracing::debug!(certificates = count, "CA certificates found");
    ROOTS_FOUND.store(count, std::sync::atomic::Ordering::Relaxed);
    if count == 0 {
        // Said by the failed call's one line (error.rs), not here.
        tracing::debug!("no CA certificates: every TLS handshake will fail");
    }
    found
}

/// How many CA certificates were found, once they were (`usize::MAX`
/// before); 0 as well once a chain found no anchor and none of them
/// parses as one ([`LazyRoots::for_chain`]).
static ROOTS_FOUND: std::sync::atomic::AtomicUsize =
    std::sync::atomic::AtomicUsize::new(usize::MAX);

/// Whether the CA certificates were looked for and none was found (no
/// bundle in the image, an empty `--ca-bundle` directory), or none of
/// those found can be a trust anchor: the error line of a refused
/// certificate says so.
#[must_use]
pub(crate) fn no_roots() -> bool {
    ROOTS_FOUND.load(std::sync::atomic::Ordering::Relaxed) == 0
}

/// The server certificate check: rustls' `WebPkiServerVerifier` (no
/// revocation lists, as configured by `with_root_certificates`), made of
/// the same public parts (`verify_server_cert_signed_by_trust_anchor`,
/// `verify_server_name`, the provider's signature algorithms, each
/// [`Remembered`] for the chain's signatures), with one more difference:
/// the trust anchors are parsed when a chain asks for them,
/// and only those whose DER, up to the end of the subject, holds the issuer
/// name of a certificate of the chain.
///
/// Parsing a system bundle's every certificate into trust anchors (144 for
/// Debian's) was most of the 0.8 to 1.0 ms of CPU at N=10 over HTTPS that
/// the static build saved with this and the plain command line together
/// (README, `bench/https.rs`). The answer is the same
/// either way: webpki passes over an anchor whose subject is not byte for
/// byte the issuer of the certificate at the head of the path (the end
/// entity or one of the server's intermediates, parsed as here), with
/// `UnknownIssuer` and before any other check or budget (rustls-webpki
/// 0.103 `verify_cert.rs`, `build_chain_inner`), and an anchor's subject
/// is part of its DER before the subject's end, so every anchor webpki
/// could use is among the ones kept, in the bundle's order. A bundle
/// file's certificates are decoded only that far until one is a candidate
/// ([`Found`]).
struct LazyRoots {
    certificates: Found,
    /// Each certificate's trust anchor, parsed the first time a chain
    /// needs it (None: webpki cannot parse it, and it is skipped, as
    /// `RootCertStore::add_parsable_certificates` skips it). At most the
    /// whole bundle parsed, whatever servers present, for as long as the
    /// process lives (`--watch`).
    anchors: Vec<OnceLock<Option<TrustAnchor<'static>>>>,
    algorithms: rustls::crypto::WebPkiSupportedAlgorithms,
    /// `algorithms.all`, each remembering the certificate signatures it
    /// found valid ([`Remembered`]): for the chains only.
    chain_algorithms: &'static [&'static dyn SignatureVerificationAlgorithm],
}

/// Above this many certificates in a chain, every certificate of the
/// bundle is an anchor (each parsed once): searching for that many names
/// would cost more than parsing. Real chains hold two or three.
const MOST_SEARCHED: usize = 8;

impl std::fmt::Debug for LazyRoots {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LazyRoots")
            .field("certificates", &self.certificates.certificates.len())
            .finish_non_exhaustive()
    }
}

impl LazyRoots {
    fn new(certificates: Found, algorithms: rustls::crypto::WebPkiSupportedAlgorithms) -> Self {
        let anchors = certificates
            .certificates
            .iter()
            .map(|_| OnceLock::new())
            .collect();
        // Built once per process (the TLS configuration is): leaked.
        let remembered: &'static [Remembered] = Vec::leak(
            algorithms
                .all
                .iter()
                .map(|&inner| Remembered::new(inner))
                .collect(),
        );
        let chain_algorithms = remembered
            .iter()
            .map(|algorithm| algorithm as &'static dyn SignatureVerificationAlgorithm)
            .collect();
        Self {
            certificates,
            anchors,
            algorithms,
            chain_algorithms: Vec::leak(chain_algorithms),
        }
    }

    /// The trust anchors for a chain: those of the certificates that hold
    /// an issuer name of `chain`, in the bundle's order (every certificate
    /// when a name cannot be read, webpki then refusing the chain as it
    /// would have, or when the chain is longer than [`MOST_SEARCHED`]).
    fn for_chain(&self, chain: &[&CertificateDer<'_>]) -> rustls::RootCertStore {
        let parsed: Option<Vec<_>> = chain
            .iter()
            .map(|der| webpki::EndEntityCert::try_from(*der).ok())
            .collect();
        let issuers: Option<Vec<&[u8]>> = parsed
            .as_ref()
            .filter(|parsed| parsed.len() <= MOST_SEARCHED)
            .map(|parsed| parsed.iter().map(|cert| cert.issuer()).collect());
        let count = self.certificates.certificates.len();
        let searched: Vec<&[u8]> = (0..count)
            .map(|at| self.certificates.searched(at))
            .collect();
        let mut roots = rustls::RootCertStore::empty();
        for at in candidate_roots(&searched, issuers.as_deref()) {
            if let Some(anchor) = self.anchor(at) {
                roots.roots.push(anchor.clone());
            }
        }
        tracing::debug!(anchors = roots.roots.len(), "trust anchors for a chain");
        if roots.roots.is_empty() && (0..count).all(|at| self.anchor(at).is_none()) {
            // As rustls' store would have held none: the error says so.
            ROOTS_FOUND.store(0, std::sync::atomic::Ordering::Relaxed);
        }
        roots
    }

    /// The trust anchor of certificate `at`, decoded and parsed on first
    /// use.
    fn anchor(&self, at: usize) -> Option<&TrustAnchor<'static>> {
        self.anchors[at]
            .get_or_init(|| {
                let der = self.certificates.der(at)?;
                webpki::anchor_from_trusted_cert(&CertificateDer::from(der.as_ref()))
                    .ok()
                    .map(|anchor| anchor.to_owned())
            })
            .as_ref()
    }
}

/// How many valid signatures each [`Remembered`] algorithm keeps: a
/// chain has two or three, and a process talks to a few endpoints (SSM,
/// KMS, STS, SSO).
const REMEMBERED: usize = 16;

/// A signature algorithm that remembers the signatures it found valid and
/// answers the same question again without the arithmetic.
///
/// The calls of one launch run at once, each on its own connection with
/// its own handshake, and every server presents the same chain: without
/// this, each handshake checks the same certificate signatures again (two
/// RSA verifications per extra call in `bench/https.rs`'s model). Whether
/// a signature is valid depends on the algorithm, the public key, the
/// signed bytes and the signature alone (rustls-pki-types 1.16,
/// `SignatureVerificationAlgorithm::verify_signature`: `Ok` "only if
/// `signature` is a valid signature on `message`"), so an answer is reused
/// only for the same four, compared byte for byte. Everything else webpki
/// checks (validity dates, name constraints, key usage, the path to an
/// anchor) and the server's name are checked on every handshake as before,
/// and so is the handshake's own signature (`verify_tls13_signature`, over
/// a transcript that never repeats; not through this). A rejected
/// signature is not remembered: it is checked again each time it is
/// presented. Handshakes that come to the same signature at the same
/// moment each check it (the arithmetic is not done under the lock), and
/// it is kept once. Only public data is kept.
#[derive(Debug)]
struct Remembered {
    inner: &'static dyn SignatureVerificationAlgorithm,
    /// The last [`REMEMBERED`] valid signatures, oldest first.
    valid: Mutex<Vec<Signed>>,
}

/// One valid signature: the public key, the signed bytes, the signature.
#[derive(Debug)]
struct Signed {
    public_key: Box<[u8]>,
    message: Box<[u8]>,
    signature: Box<[u8]>,
}

impl Remembered {
    fn new(inner: &'static dyn SignatureVerificationAlgorithm) -> Self {
        Self {
            inner,
            valid: Mutex::new(Vec::new()),
        }
    }

    fn valid(&self) -> std::sync::MutexGuard<'_, Vec<Signed>> {
        self.valid.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl SignatureVerificationAlgorithm for Remembered {
    fn verify_signature(
        &self,
        public_key: &[u8],
        message: &[u8],
        signature: &[u8],
    ) -> Result<(), rustls::pki_types::InvalidSignature> {
        let same = |signed: &Signed| {
            *signed.signature == *signature
                && *signed.public_key == *public_key
                && *signed.message == *message
        };
        if self.valid().iter().any(same) {
            return Ok(());
        }
        // Not under the lock: handshakes that check the same signature at
        // the same time each do the arithmetic, and it is kept once.
        self.inner
            .verify_signature(public_key, message, signature)?;
        let mut valid = self.valid();
        if !valid.iter().any(same) {
            if valid.len() == REMEMBERED {
                valid.remove(0);
            }
            valid.push(Signed {
                public_key: public_key.into(),
                message: message.into(),
                signature: signature.into(),
            });
        }
        Ok(())
    }

    fn public_key_alg_id(&self) -> rustls::pki_types::AlgorithmIdentifier {
        self.inner.public_key_alg_id()
    }

    fn signature_alg_id(&self) -> rustls::pki_types::AlgorithmIdentifier {
        self.inner.signature_alg_id()
    }

    fn fips(&self) -> bool {
        self.inner.fips()
    }

    fn fips_status(&self) -> rustls::pki_types::FipsStatus {
        self.inner.fips_status()
    }
}

/// The positions in `certificates` (the bytes of each that may hold its
/// subject) of those that hold one of `issuers` (all of them without
/// issuer names), in order.
fn candidate_roots(certificates: &[&[u8]], issuers: Option<&[&[u8]]>) -> Vec<usize> {
    let Some(issuers) = issuers else {
        return (0..certificates.len()).collect();
    };
    let mut issuers = issuers.to_vec();
    issuers.sort_unstable();
    issuers.dedup();
    let finders: Vec<_> = issuers.iter().map(memchr::memmem::Finder::new).collect();
    (0..certificates.len())
        .filter(|&at| finders.iter().any(|f| f.find(certificates[at]).is_some()))
        .collect()
}

impl rustls::client::danger::ServerCertVerifier for LazyRoots {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &rustls::pki_types::ServerName<'_>,
        _ocsp_response: &[u8],
        now: rustls::pki_types::UnixTime,
    ) -> Result<rustls::client::danger::ServerCertVerified, rustls::Error> {
        let cert = rustls::server::ParsedCertificate::try_from(end_entity)?;
        let chain: Vec<_> = std::iter::once(end_entity).chain(intermediates).collect();
        let roots = self.for_chain(&chain);
        rustls::client::verify_server_cert_signed_by_trust_anchor(
            &cert,
            &roots,
            intermediates,
            now,
            self.chain_algorithms,
        )?;
        rustls::client::verify_server_name(&cert, server_name)?;
        Ok(rustls::client::danger::ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}

/// The SDK client's cipher suites (aws-smithy-http-client's
/// `restrict_ciphers`), in its order.
const CIPHER_SUITES: [rustls::CipherSuite; 7] = [
    rustls::CipherSuite::TLS13_AES_256_GCM_SHA384,
    rustls::CipherSuite::TLS13_AES_128_GCM_SHA256,
    rustls::CipherSuite::TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
    rustls::CipherSuite::TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
    rustls::CipherSuite::TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
    rustls::CipherSuite::TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
    rustls::CipherSuite::TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
];

/// The TLS configuration: ring with the SDK's cipher suites, TLS 1.3 and
/// 1.2, the certificates of [`trusted_certificates`] checked by
/// [`LazyRoots`]; built once.
fn tls_config() -> Arc<rustls::ClientConfig> {
    TLS.get_or_init(|| {
        let ring = rustls::crypto::ring::default_provider();
        let cipher_suites = CIPHER_SUITES
            .iter()
            .filter_map(|suite| {
                ring.cipher_suites
                    .iter()
                    .find(|s| s.suite() == *suite)
                    .copied()
            })
            .collect();
        let provider = rustls::crypto::CryptoProvider {
            cipher_suites,
            ..ring
        };
        let verifier = LazyRoots::new(
            trusted_certificates(),
            provider.signature_verification_algorithms,
        );
        let config = rustls::ClientConfig::builder_with_provider(Arc::new(provider))
            .with_safe_default_protocol_versions()
            // ring supports both versions: a failure is a bug of this build.
            .expect("ring supports TLS 1.3 and 1.2")
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(verifier))
            .with_no_client_auth();
        Arc::new(config)
    })
    .clone()
}

/// The HTTP client of every SDK client psc-exec and psc build.
#[must_use]
pub fn client() -> SharedHttpClient {
    SharedHttpClient::new(Client::default())
}

/// The timeouts a connector was built for: the SDK's cache key.
type Timeouts = (Option<Duration>, Option<Duration>);

/// One connector (and so one connection pool) per pair of timeouts, as the
/// SDK's client keeps them.
#[derive(Debug, Default)]
struct Client {
    connectors: Mutex<Vec<(Timeouts, SharedHttpConnector)>>,
}

impl HttpClient for Client {
    fn http_connector(
        &self,
        settings: &HttpConnectorSettings,
        components: &RuntimeComponents,
    ) -> SharedHttpConnector {
        let key = (settings.connect_timeout(), settings.read_timeout());
        let mut connectors = self
            .connectors
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if let Some((_, connector)) = connectors.iter().find(|(k, _)| *k == key) {
            return connector.clone();
        }
        let sleep = components
            .sleep_impl()
            .unwrap_or_else(|| SharedAsyncSleep::new(TokioSleep::new()));
        let connector = SharedHttpConnector::new(Connector::new(key, &sleep));
        connectors.push((key, connector.clone()));
        connector
    }

    fn connector_metadata(&self) -> Option<ConnectorMetadata> {
        // As the SDK's client names itself (it goes into the user agent).
        Some(ConnectorMetadata::new("hyper", Some(Cow::Borrowed("1.x"))))
    }
}

/// A timeout of the connect or read phase: the SDK's `HttpTimeoutError`,
/// whose source is the `TimedOutError` the SDK looks for.
#[derive(Debug)]
struct PhaseTimeout {
    kind: &'static str,
    duration: Duration,
}

impl std::fmt::Display for PhaseTimeout {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} timeout occurred after {:?}",
            self.kind, self.duration
        )
    }
}

impl std::error::Error for PhaseTimeout {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&TimedOutError)
    }
}

/// `future` bounded by `timeout` when there is one.
async fn bounded<T, E: Into<BoxError>>(
    future: impl Future<Output = Result<T, E>>,
    timeout: Option<(SharedAsyncSleep, Duration)>,
    kind: &'static str,
) -> Result<T, BoxError> {
    match timeout {
        None => future.await.map_err(Into::into),
        Some((sleep, duration)) => match Timeout::new(future, sleep.sleep(duration)).await {
            Ok(result) => result.map_err(Into::into),
            Err(_) => Err(PhaseTimeout { kind, duration }.into()),
        },
    }
}

/// hyper-rustls's connector with the connect timeout around it (TCP and
/// TLS handshakes both, as the SDK's `ConnectTimeout`).
#[derive(Clone)]
struct Connect {
    https: HttpsConnector<TcpConnector>,
    timeout: Option<(SharedAsyncSleep, Duration)>,
}

type Stream = MaybeHttpsStream<TokioIo<tokio::net::TcpStream>>;

impl tower_service::Service<http::Uri> for Connect {
    type Response = Stream;
    type Error = BoxError;
    type Future = Pin<Box<dyn Future<Output = Result<Stream, BoxError>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        self.https.poll_ready(cx)
    }

    fn call(&mut self, uri: http::Uri) -> Self::Future {
        let connecting = self.https.call(uri);
        let timeout = self.timeout.clone();
        Box::pin(bounded(connecting, timeout, "HTTP connect"))
    }
}

/// A connection pool with fixed timeouts.
struct Connector {
    client: PoolingClient<Connect, SdkBody>,
    read_timeout: Option<(SharedAsyncSleep, Duration)>,
}

impl std::fmt::Debug for Connector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Connector").finish_non_exhaustive()
    }
}

impl Connector {
    fn new((connect, read): Timeouts, sleep: &SharedAsyncSleep) -> Self {
        let mut tcp = TcpConnector::new();
        tcp.set_nodelay(true);
        tcp.enforce_http(false);
        let https = hyper_rustls::HttpsConnectorBuilder::new()
            .with_tls_config((*tls_config()).clone())
            .https_or_http()
            .enable_http1()
            .wrap_connector(tcp);
        let connect = Connect {
            https,
            timeout: connect.map(|d| (sleep.clone(), d)),
        };
        // The pool timer lets idle connections expire (hyper's 90 s).
        let client = PoolingClient::builder(TokioExecutor::new())
            .pool_timer(TokioTimer::new())
            .build(connect);
        Self {
            client,
            read_timeout: read.map(|d| (sleep.clone(), d)),
        }
    }
}

impl HttpConnector for Connector {
    fn call(&self, request: HttpRequest) -> HttpConnectorFuture {
        let mut request = match request.try_into_http1x() {
            Ok(request) => request,
            Err(error) => {
                return HttpConnectorFuture::ready(Err(ConnectorError::user(error.into())));
            }
        };
        let captured = capture_connection(&mut request);
        if let Some(smithy) = request.extensions().get::<CaptureSmithyConnection>() {
            smithy.set_connection_retriever(move || connection_metadata(&captured));
        }
        let response = self.client.request(request);
        let timeout = self.read_timeout.clone();
        HttpConnectorFuture::new(async move {
            let response = bounded(response, timeout, "HTTP read")
                .await
                .map_err(connector_error)?
                .map(SdkBody::from_body_1_x);
            HttpResponse::try_from(response).map_err(|e| ConnectorError::other(e.into(), None))
        })
    }
}

/// The connection a request went out on, for the orchestrator (which
/// poisons it after a transient failure, so that it is not reused).
fn connection_metadata(captured: &CaptureConnection) -> Option<ConnectionMetadata> {
    let connected = captured.connection_metadata();
    let connected = connected.as_ref()?;
    let mut extensions = http::Extensions::new();
    connected.get_extras(&mut extensions);
    let info = extensions.get::<HttpInfo>();
    let poison = captured.clone();
    let mut builder = ConnectionMetadata::builder()
        .proxied(connected.is_proxied())
        .poison_fn(move || {
            if let Some(connected) = poison.connection_metadata().as_ref() {
                connected.poison();
            }
        });
    builder
        .set_local_addr(info.map(HttpInfo::local_addr))
        .set_remote_addr(info.map(HttpInfo::remote_addr));
    Some(builder.build())
}

/// The first error of type `T` in `error`'s sources (itself included).
fn find<'a, T: std::error::Error + 'static>(
    error: &'a (dyn std::error::Error + 'static),
) -> Option<&'a T> {
    let mut next = Some(error);
    while let Some(error) = next {
        if let Some(found) = error.downcast_ref::<T>() {
            return Some(found);
        }
        next = error.source();
    }
    None
}

/// The SDK client's classification (`downcast_error`): a timeout anywhere
/// in the chain, hyper's own kinds, a failed connection or any I/O error
/// as I/O (retryable), the rest unclassified. The error itself is kept
/// whole as the source.
fn connector_error(error: BoxError) -> ConnectorError {
    if find::<TimedOutError>(error.as_ref()).is_some() {
        return ConnectorError::timeout(error);
    }
    let error = match error.downcast::<ConnectorError>() {
        Ok(connector) => return *connector,
        Err(error) => error,
    };
    if let Some(hyper) = find::<hyper::Error>(error.as_ref()) {
        if hyper.is_timeout() || find::<PhaseTimeout>(hyper).is_some() {
            return ConnectorError::timeout(error);
        }
        if hyper.is_user() {
            return ConnectorError::user(error);
        }
        if hyper.is_closed() || hyper.is_canceled() || find::<std::io::Error>(hyper).is_some() {
            return ConnectorError::io(error);
        }
        if hyper.is_incomplete_message() {
            return ConnectorError::other(error, Some(ErrorKind::TransientError));
        }
        tracing::warn!(
            error = %aws_smithy_types::error::display::DisplayErrorContext(error.as_ref()),
            "unrecognized error from hyper"
        );
        return ConnectorError::other(error, None);
    }
    if let Some(client) = find::<hyper_util::client::legacy::Error>(error.as_ref())
        && (client.is_connect() || find::<std::io::Error>(client).is_some())
    {
        return ConnectorError::io(error);
    }
    ConnectorError::other(error, None)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pem_certificates_decodes_as_rustls_pki_types() {
        use rustls::pki_types::pem::PemObject;
        // Debian's bundle (ca-certificates, which CI installs: the release
        // tests read it too).
        let bundle = std::fs::read("/etc/ssl/certs/ca-certificates.crt").unwrap();
        let (fast, undecodable) = pem_certificates(&bundle);
        let slow: Vec<_> = CertificateDer::pem_slice_iter(&bundle)
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(undecodable, 0);
        assert!(fast.len() > 100, "{}", fast.len());
        assert_eq!(fast, slow);
    }

    #[test]
    fn pem_certificates_skips_what_is_not_a_certificate() {
        let pem = b"junk\n-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n\
            -----BEGIN CERTIFICATE-----\r\nAQID\r\nBA==\r\n-----END CERTIFICATE-----\r\n\
            -----BEGIN CERTIFICATE-----\n!!!!\n-----END CERTIFICATE-----\n\
            -----BEGIN CERTIFICATE-----  \n AQ ID\tBQ\n-----END CERTIFICATE-----\n\
            x-----BEGIN CERTIFICATE-----\nAQID\n-----END CERTIFICATE-----\n\
            -----BEGIN TRUSTED CERTIFICATE-----\nAQID\n-----END TRUSTED CERTIFICATE-----\n\
            -----BEGIN CERTIFICATE-----\nAQID\n";
        let (certificates, undecodable) = pem_certificates(pem);
        assert_eq!(
            certificates,
            [
                CertificateDer::from(vec![1, 2, 3, 4]),
                CertificateDer::from(vec![1, 2, 3, 5])
            ]
        );
        assert_eq!(undecodable, 2);
    }

    /// Debian's bundle, decoded as far as the subjects, and in whole.
    fn debian_bundle() -> (Found, Vec<CertificateDer<'static>>) {
        let bundle = std::fs::read("/etc/ssl/certs/ca-certificates.crt").unwrap();
        let (whole, _) = pem_certificates(&bundle);
        let (found, undecodable) = Found::bundle(bundle);
        assert_eq!(undecodable, 0);
        assert_eq!(found.certificates.len(), whole.len());
        (found, whole)
    }

    #[test]
    fn a_bundle_certificate_is_decoded_as_far_as_its_subject() {
        let (found, whole) = debian_bundle();
        let mut beyond_the_first_characters = 0;
        for (at, der) in whole.iter().enumerate() {
            let head = found.searched(at);
            let end = subject_end(der).unwrap();
            assert_eq!(head, &der[..end], "certificate {at}");
            assert_eq!(found.der(at).unwrap().as_ref(), der.as_ref());
            // What webpki reads as the subject lies inside the head.
            if let Ok(anchor) = webpki::anchor_from_trusted_cert(der) {
                let subject: &[u8] = &anchor.subject;
                assert!(
                    memchr::memmem::find(head, subject).is_some(),
                    "certificate {at}"
                );
            }
            beyond_the_first_characters += usize::from(end > HEAD_BASE64 / 4 * 3);
        }
        // Most heads come from the first characters alone.
        assert!(
            beyond_the_first_characters * 10 < whole.len(),
            "{beyond_the_first_characters}"
        );
        // Not a certificate, cut short, or a length past what DER allows.
        assert_eq!(subject_end(&[0x30, 0x03, 0x02, 0x01, 0x00]), None);
        assert_eq!(subject_end(&whole[0][..3]), None);
        assert_eq!(subject_end(&[0x30, 0x84, 1, 0, 0, 0]), None);
        // A prefix that holds the subject's header tells where it ends.
        let end = subject_end(&whole[0]).unwrap();
        assert_eq!(subject_end(&whole[0][..end - 1]), Some(end));
    }

    #[test]
    fn candidate_roots_are_the_certificates_holding_an_issuer_name() {
        let (found, whole) = debian_bundle();
        let heads: Vec<&[u8]> = (0..whole.len()).map(|at| found.searched(at)).collect();
        let wholes: Vec<&[u8]> = whole.iter().map(AsRef::as_ref).collect();
        let all: Vec<usize> = (0..whole.len()).collect();
        assert_eq!(candidate_roots(&heads, None), all);
        assert_eq!(candidate_roots(&heads, Some(&[])), Vec::<usize>::new());
        let mut checked = 0;
        for (at, root) in whole.iter().enumerate() {
            // A self-signed root's issuer is its subject.
            let Ok(parsed) = webpki::EndEntityCert::try_from(root) else {
                continue;
            };
            let candidates = candidate_roots(&heads, Some(&[parsed.issuer()]));
            assert!(candidates.contains(&at));
            // Its own, and a few sharing the name (cross-signed roots).
            assert!(candidates.len() <= 3, "{}", candidates.len());
            // The same as searching the whole certificates.
            assert_eq!(
                candidate_roots(&wholes, Some(&[parsed.issuer()])),
                candidates
            );
            // The same name twice is searched once, with the same answer.
            let twice = [parsed.issuer(), parsed.issuer()];
            assert_eq!(candidate_roots(&heads, Some(&twice)), candidates);
            checked += 1;
        }
        assert!(checked > 100, "{checked}");
    }

    #[test]
    fn the_anchors_of_a_chain_are_parsed_once_and_kept_in_order() {
        let (found, certificates) = debian_bundle();
        let count = certificates.len();
        let ring = rustls::crypto::ring::default_provider();
        let roots = LazyRoots::new(found, ring.signature_verification_algorithms);
        let parsed = || roots.anchors.iter().filter(|a| a.get().is_some()).count();
        let root = certificates
            .iter()
            .find(|der| webpki::EndEntityCert::try_from(*der).is_ok())
            .unwrap();
        // A self-signed root as its own chain: its anchor alone (or with a
        // namesake), nothing else parsed.
        let store = roots.for_chain(&[root]);
        assert!((1..=3).contains(&store.roots.len()));
        assert_eq!(parsed(), store.roots.len());
        assert_eq!(roots.for_chain(&[root]).roots, store.roots);
        // What cannot be read, or a chain longer than MOST_SEARCHED: every
        // anchor, in the bundle's order, as rustls' own store holds them.
        let junk = CertificateDer::from(vec![0x30, 0x03, 0x02, 0x01, 0x00]);
        let all = roots.for_chain(&[&junk]);
        let mut whole = rustls::RootCertStore::empty();
        whole.add_parsable_certificates(certificates.clone());
        assert_eq!(all.roots, whole.roots);
        assert_eq!(parsed(), count);
        let long = vec![root; MOST_SEARCHED + 1];
        assert_eq!(roots.for_chain(&long).roots, whole.roots);
    }

    /// A signature algorithm that finds valid exactly the signatures equal
    /// to `b"good"`.
    #[derive(Debug)]
    struct Good;

    impl SignatureVerificationAlgorithm for Good {
        fn verify_signature(
            &self,
            _public_key: &[u8],
            _message: &[u8],
            signature: &[u8],
        ) -> Result<(), rustls::pki_types::InvalidSignature> {
            if signature == b"good" {
                Ok(())
            } else {
                Err(rustls::pki_types::InvalidSignature)
            }
        }

        fn public_key_alg_id(&self) -> rustls::pki_types::AlgorithmIdentifier {
            rustls::pki_types::alg_id::ECDSA_P256
        }

        fn signature_alg_id(&self) -> rustls::pki_types::AlgorithmIdentifier {
            rustls::pki_types::alg_id::ECDSA_SHA256
        }

        fn fips(&self) -> bool {
            true
        }
    }

    /// `inner`, counting the signatures it checks in `checked`.
    #[derive(Debug)]
    struct Counted {
        inner: &'static dyn SignatureVerificationAlgorithm,
        checked: &'static std::sync::atomic::AtomicUsize,
    }

    impl Counted {
        /// `inner` counted in `checked`, for as long as the test process
        /// lives (as [`Remembered`] and rustls take algorithms).
        fn leaked(
            inner: &'static dyn SignatureVerificationAlgorithm,
            checked: &'static std::sync::atomic::AtomicUsize,
        ) -> &'static Self {
            Box::leak(Box::new(Self { inner, checked }))
        }

        /// A new counter at 0, and a reader of it.
        fn counter() -> (&'static std::sync::atomic::AtomicUsize, impl Fn() -> usize) {
            let checked: &'static _ = Box::leak(Box::new(std::sync::atomic::AtomicUsize::new(0)));
            (checked, || {
                checked.load(std::sync::atomic::Ordering::Relaxed)
            })
        }
    }

    impl SignatureVerificationAlgorithm for Counted {
        fn verify_signature(
            &self,
            public_key: &[u8],
            message: &[u8],
            signature: &[u8],
        ) -> Result<(), rustls::pki_types::InvalidSignature> {
            self.checked
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            self.inner.verify_signature(public_key, message, signature)
        }

        fn public_key_alg_id(&self) -> rustls::pki_types::AlgorithmIdentifier {
            self.inner.public_key_alg_id()
        }

        fn signature_alg_id(&self) -> rustls::pki_types::AlgorithmIdentifier {
            self.inner.signature_alg_id()
        }

        fn fips(&self) -> bool {
            self.inner.fips()
        }
    }

    #[test]
    fn a_valid_signature_is_checked_once_and_a_rejected_one_every_time() {
        let (checked, calls) = Counted::counter();
        let inner = Counted::leaked(&Good, checked);
        let remembered = Remembered::new(inner);
        assert_eq!(remembered.public_key_alg_id(), inner.public_key_alg_id());
        assert_eq!(remembered.signature_alg_id(), inner.signature_alg_id());
        assert!(remembered.fips());
        assert!(remembered.verify_signature(b"key", b"tbs", b"good").is_ok());
        assert!(remembered.verify_signature(b"key", b"tbs", b"good").is_ok());
        assert_eq!(calls(), 1);
        // Another key, other signed bytes: checked.
        assert!(remembered.verify_signature(b"kez", b"tbs", b"good").is_ok());
        assert!(remembered.verify_signature(b"key", b"tbt", b"good").is_ok());
        assert_eq!(calls(), 3);
        // A rejected signature, even beside a remembered one: every time.
        for _ in 0..2 {
            assert!(remembered.verify_signature(b"key", b"tbs", b"bad").is_err());
        }
        assert_eq!(calls(), 5);
        assert_eq!(remembered.valid().len(), 3);
        // The oldest goes first once REMEMBERED are kept.
        for at in 0..REMEMBERED {
            let message = format!("tbs {at}");
            assert!(
                remembered
                    .verify_signature(b"key", message.as_bytes(), b"good")
                    .is_ok()
            );
        }
        assert_eq!(calls(), 5 + REMEMBERED);
        assert_eq!(remembered.valid().len(), REMEMBERED);
        assert!(remembered.verify_signature(b"key", b"tbs", b"good").is_ok());
        assert_eq!(calls(), 6 + REMEMBERED);
        let last = format!("tbs {}", REMEMBERED - 1);
        assert!(
            remembered
                .verify_signature(b"key", last.as_bytes(), b"good")
                .is_ok()
        );
        assert_eq!(calls(), 6 + REMEMBERED);
    }

    #[test]
    fn each_algorithm_remembers_its_own_signatures() {
        let (first, first_calls) = Counted::counter();
        let (second, second_calls) = Counted::counter();
        let a = Remembered::new(Counted::leaked(&Good, first));
        let b = Remembered::new(Counted::leaked(&Good, second));
        for _ in 0..2 {
            assert!(a.verify_signature(b"key", b"tbs", b"good").is_ok());
            assert!(b.verify_signature(b"key", b"tbs", b"good").is_ok());
        }
        assert_eq!((first_calls(), second_calls()), (1, 1));
    }

    #[test]
    fn a_chain_checked_again_is_checked_in_full_but_for_its_remembered_signature() {
        use rustls::client::danger::ServerCertVerifier;
        use rustls::pki_types::pem::PemObject;
        // src/testdata/tls: a root and a leaf for `localhost` signed by it
        // (RSA 2048, SHA-256), valid from 2026-12-01 to 2126-11-07, made by
        // `openssl req -x509 ... -days 36500` and `openssl x509 -req ...`.
        let leaf = CertificateDer::from_pem_slice(include_bytes!("testdata/tls/leaf.pem")).unwrap();
        let (root, undecodable) = Found::bundle(include_bytes!("testdata/tls/root.pem").to_vec());
        assert_eq!((root.certificates.len(), undecodable), (1, 0));
        let (checked, checks) = Counted::counter();
        let ring = rustls::crypto::ring::default_provider().signature_verification_algorithms;
        let all: Vec<&'static dyn SignatureVerificationAlgorithm> = ring
            .all
            .iter()
            .map(|&inner| {
                Counted::leaked(inner, checked) as &'static dyn SignatureVerificationAlgorithm
            })
            .collect();
        let algorithms = rustls::crypto::WebPkiSupportedAlgorithms {
            all: Vec::leak(all),
            mapping: ring.mapping,
        };
        let roots = LazyRoots::new(root, algorithms);
        let name = rustls::pki_types::ServerName::try_from("localhost").unwrap();
        // 2027-01-01 and 2127-01-01.
        let now = rustls::pki_types::UnixTime::since_unix_epoch(Duration::from_secs(1_798_761_600));
        let later =
            rustls::pki_types::UnixTime::since_unix_epoch(Duration::from_secs(4_954_435_200));
        // The leaf's one signature is checked the first time only.
        for _ in 0..3 {
            roots
                .verify_server_cert(&leaf, &[], &name, &[], now)
                .expect("a valid chain");
            assert_eq!(checks(), 1);
        }
        // The same signature, checked by webpki again with another name or
        // out of its validity: refused as webpki refuses it.
        let other = rustls::pki_types::ServerName::try_from("example.com").unwrap();
        assert!(matches!(
            roots.verify_server_cert(&leaf, &[], &other, &[], now),
            Err(rustls::Error::InvalidCertificate(
                rustls::CertificateError::NotValidForName
                    | rustls::CertificateError::NotValidForNameContext { .. }
            ))
        ));
        assert!(matches!(
            roots.verify_server_cert(&leaf, &[], &name, &[], later),
            Err(rustls::Error::InvalidCertificate(
                rustls::CertificateError::Expired | rustls::CertificateError::ExpiredContext { .. }
            ))
        ));
        assert_eq!(checks(), 1);
        // Its signature altered (the last byte of the DER is the
        // signature's), or the signed bytes (the subject's `localhost`,
        // the first one, becomes `localhosu`): refused every time, though
        // the valid signature is remembered.
        let mut signature_altered = leaf.to_vec();
        *signature_altered.last_mut().unwrap() ^= 1;
        let mut body_altered = leaf.to_vec();
        let at = memchr::memmem::find(&body_altered, b"localhost").unwrap() + 8;
        body_altered[at] = b'u';
        for altered in [signature_altered, body_altered] {
            let altered = CertificateDer::from(altered);
            for _ in 0..2 {
                assert!(matches!(
                    roots.verify_server_cert(&altered, &[], &name, &[], now),
                    Err(rustls::Error::InvalidCertificate(
                        rustls::CertificateError::BadSignature
                    ))
                ));
            }
        }
        assert_eq!(checks(), 5);
    }
}
