//! `guls certs init DIR`: a demo PKI made with rcgen — a root CA, an intermediate CA, and a
//! responder and an initiator certificate whose subjects are the demo AE-titles — in Ed25519
//! and/or P-256, as PEM files with a README.txt. [`DemoPki::generate`] makes the same PKI in
//! memory.
//!
//! Layout of `DIR/<key type>/` (`ed25519`, `p256`):
//!
//! | file | what |
//! |---|---|
//! | `root-ca.pem`, `root-ca.key.pem` | self-signed root CA (pathLen 1, keyCertSign + cRLSign) |
//! | `intermediate-ca.pem`, `intermediate-ca.key.pem` | intermediate CA (pathLen 0) |
//! | `responder.pem`, `responder.key.pem`, `responder-chain.pem` | [`RESPONDER_SUBJECT`], digitalSignature, id-kp-serverAuth; the chain file is the certificate then the intermediate |
//! | `initiator.pem`, `initiator.key.pem`, `initiator-chain.pem` | [`INITIATOR_SUBJECT`], digitalSignature, id-kp-clientAuth |
//! | `root-ca.crl.pem`, `intermediate-ca.crl.pem` | empty CRLs valid as long as the certificates |
//!
//! Keys are PKCS #8 PEM (`-----BEGIN PRIVATE KEY-----`), written with mode 0600 on Unix.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rcgen::{
    BasicConstraints, CertificateParams, CertificateRevocationListParams, CertifiedIssuer, DnType,
    ExtendedKeyUsagePurpose, IsCa, KeyIdMethod, KeyPair, KeyUsagePurpose, SerialNumber,
};

/// Exit statuses of `guls certs`.
pub mod exit {
    /// The PKI was written.
    pub const OK: u8 = 0;
    /// Generation or writing failed, or the files exist (without `--force`).
    pub const FAILED: u8 = 1;
}

/// The responder's certificate subject: the demo responder's AE-title (form 1).
pub const RESPONDER_SUBJECT: &str = "CN=guls-demo-responder,O=guls demo";
/// The initiator's certificate subject: the demo initiator's AE-title (form 1).
pub const INITIATOR_SUBJECT: &str = "CN=guls-demo-initiator,O=guls demo";
/// Default validity: 20 years (7305 days).
pub const DEFAULT_DAYS: u32 = 7305;

/// `guls certs` subcommands.
#[derive(Debug, clap::Subcommand)]
pub enum CertsCommand {
    /// Make a demo PKI: root CA, intermediate CA, responder and initiator certificates.
    #[command(after_help = INIT_HELP)]
    Init(InitArgs),
}

const INIT_HELP: &str = "\
Writes DIR/ed25519/ and/or DIR/p256/ with root-ca.pem, intermediate-ca.pem, responder.pem, \
responder-chain.pem, initiator.pem, initiator-chain.pem, their *.key.pem (PKCS #8), empty CRLs \
root-ca.crl.pem and intermediate-ca.crl.pem, and DIR/README.txt. The end-entity subjects are \
the demo AE-titles CN=guls-demo-responder,O=guls demo and CN=guls-demo-initiator,O=guls demo. \
The CA keys are kept for a demo: do not use this PKI for anything else.

Exit status: 0 written, 1 failed (or the files exist and --force was not given).";

/// Arguments of `guls certs init`.
#[derive(Debug, clap::Args)]
pub struct InitArgs {
    /// The directory to write (created if missing).
    #[arg(value_name = "DIR")]
    pub dir: PathBuf,
    /// Which key types to make.
    #[arg(long, value_enum, default_value = "both")]
    pub key_type: KeyTypeArg,
    /// Validity of every certificate and CRL, in days from now.
    #[arg(long, value_name = "N", default_value_t = DEFAULT_DAYS,
          value_parser = clap::value_parser!(u32).range(1..=36525))]
    pub days: u32,
    /// Overwrite existing files.
    #[arg(long)]
    pub force: bool,
}

/// `--key-type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum KeyTypeArg {
    /// Ed25519 only.
    Ed25519,
    /// ECDSA P-256 with SHA-256 only.
    P256,
    /// Both, in two subdirectories.
    Both,
}

impl KeyTypeArg {
    /// The key types selected.
    pub fn key_types(self) -> Vec<DemoKeyType> {
        match self {
            KeyTypeArg::Ed25519 => vec![DemoKeyType::Ed25519],
            KeyTypeArg::P256 => vec![DemoKeyType::P256],
            KeyTypeArg::Both => vec![DemoKeyType::Ed25519, DemoKeyType::P256],
        }
    }
}

/// A key type of the demo PKI.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DemoKeyType {
    /// Ed25519.
    Ed25519,
    /// ECDSA P-256 with SHA-256.
    P256,
}

impl DemoKeyType {
    /// The subdirectory name (`ed25519`, `p256`).
    pub fn dir_name(self) -> &'static str {
        match self {
            DemoKeyType::Ed25519 => "ed25519",
            DemoKeyType::P256 => "p256",
        }
    }

    fn label(self) -> &'static str {
        match self {
            DemoKeyType::Ed25519 => "Ed25519",
            DemoKeyType::P256 => "P-256",
        }
    }

    fn algorithm(self) -> &'static rcgen::SignatureAlgorithm {
        match self {
            DemoKeyType::Ed25519 => &rcgen::PKCS_ED25519,
            DemoKeyType::P256 => &rcgen::PKCS_ECDSA_P256_SHA256,
        }
    }
}

/// A demo PKI in memory: every certificate, key and CRL as PEM text.
#[derive(Clone)]
pub struct DemoPki {
    /// The key type of every key.
    pub key_type: DemoKeyType,
    /// Root CA certificate.
    pub root_ca: String,
    /// Root CA key (PKCS #8).
    pub root_ca_key: String,
    /// Intermediate CA certificate.
    pub intermediate_ca: String,
    /// Intermediate CA key.
    pub intermediate_ca_key: String,
    /// Responder certificate ([`RESPONDER_SUBJECT`]).
    pub responder: String,
    /// Responder key.
    pub responder_key: String,
    /// Initiator certificate ([`INITIATOR_SUBJECT`]).
    pub initiator: String,
    /// Initiator key.
    pub initiator_key: String,
    /// The root CA's (empty) CRL.
    pub root_ca_crl: String,
    /// The intermediate CA's (empty) CRL.
    pub intermediate_ca_crl: String,
}

impl std::fmt::Debug for DemoPki {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DemoPki")
            .field("key_type", &self.key_type)
            .finish_non_exhaustive()
    }
}

/// `(O, CN)` of a subject, in RDNSequence order (O first), for rcgen.
fn name(o: &str, cn: &str) -> rcgen::DistinguishedName {
    let mut d = rcgen::DistinguishedName::new();
    d.push(DnType::OrganizationName, o);
    d.push(DnType::CommonName, cn);
    d
}

impl DemoPki {
    /// Makes a fresh PKI valid from one hour ago for `validity`.
    pub fn generate(key_type: DemoKeyType, validity: Duration) -> Result<Self, String> {
        fn e(what: &'static str) -> impl Fn(rcgen::Error) -> String {
            move |err| format!("{what}: {err}")
        }
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_err(|e| e.to_string())?;
        let epoch = rcgen::date_time_ymd(1970, 1, 1);
        let not_before = epoch + now.saturating_sub(Duration::from_secs(3600));
        let not_after = epoch + now + validity;
        let alg = key_type.algorithm();
        let key = || KeyPair::generate_for(alg).map_err(e("key generation"));

        let ca = |cn: String, path_len: u8| {
            let mut p = CertificateParams::default();
            p.distinguished_name = name("guls demo", &cn);
            p.is_ca = IsCa::Ca(BasicConstraints::Constrained(path_len));
            p.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
            p.not_before = not_before;
            p.not_after = not_after;
            p
        };
        let ee = |cn: &str, eku: ExtendedKeyUsagePurpose| {
            let mut p = CertificateParams::default();
            p.distinguished_name = name("guls demo", cn);
            p.is_ca = IsCa::ExplicitNoCa;
            p.key_usages = vec![KeyUsagePurpose::DigitalSignature];
            p.extended_key_usages = vec![eku];
            p.use_authority_key_identifier_extension = true;
            p.not_before = not_before;
            p.not_after = not_after;
            p
        };

        let root = CertifiedIssuer::self_signed(
            ca(format!("guls demo root CA ({})", key_type.label()), 1),
            key()?,
        )
        .map_err(e("root CA"))?;
        let mut inter_params = ca(
            format!("guls demo intermediate CA ({})", key_type.label()),
            0,
        );
        inter_params.use_authority_key_identifier_extension = true;
        let inter = CertifiedIssuer::signed_by(inter_params, key()?, &root)
            .map_err(e("intermediate CA"))?;
        let responder_key = key()?;
        let responder = ee("guls-demo-responder", ExtendedKeyUsagePurpose::ServerAuth)
            .signed_by(&responder_key, &inter)
            .map_err(e("responder certificate"))?;
        let initiator_key = key()?;
        let initiator = ee("guls-demo-initiator", ExtendedKeyUsagePurpose::ClientAuth)
            .signed_by(&initiator_key, &inter)
            .map_err(e("initiator certificate"))?;
        let crl = |issuer: &CertifiedIssuer<'_, KeyPair>, what: &'static str| {
            CertificateRevocationListParams {
                this_update: not_before,
                next_update: not_after,
                crl_number: SerialNumber::from(1u64),
                issuing_distribution_point: None,
                revoked_certs: Vec::new(),
                key_identifier_method: KeyIdMethod::Sha256,
            }
            .signed_by(issuer)
            .and_then(|c| c.pem())
            .map_err(e(what))
        };
        Ok(DemoPki {
            key_type,
            root_ca_crl: crl(&root, "root CA CRL")?,
            intermediate_ca_crl: crl(&inter, "intermediate CA CRL")?,
            root_ca: root.pem(),
            root_ca_key: root.key().serialize_pem(),
            intermediate_ca: inter.pem(),
            intermediate_ca_key: inter.key().serialize_pem(),
            responder: responder.pem(),
            responder_key: responder_key.serialize_pem(),
            initiator: initiator.pem(),
            initiator_key: initiator_key.serialize_pem(),
        })
    }

    /// The responder's certification path: its certificate, then the intermediate.
    pub fn responder_chain(&self) -> String {
        format!("{}{}", self.responder, self.intermediate_ca)
    }

    /// The initiator's certification path: its certificate, then the intermediate.
    pub fn initiator_chain(&self) -> String {
        format!("{}{}", self.initiator, self.intermediate_ca)
    }

    /// Every file: name, contents, and whether it is a private key.
    pub fn files(&self) -> Vec<(&'static str, String, bool)> {
        vec![
            ("root-ca.pem", self.root_ca.clone(), false),
            ("root-ca.key.pem", self.root_ca_key.clone(), true),
            ("intermediate-ca.pem", self.intermediate_ca.clone(), false),
            (
                "intermediate-ca.key.pem",
                self.intermediate_ca_key.clone(),
                true,
            ),
            ("responder.pem", self.responder.clone(), false),
            ("responder.key.pem", self.responder_key.clone(), true),
            ("responder-chain.pem", self.responder_chain(), false),
            ("initiator.pem", self.initiator.clone(), false),
            ("initiator.key.pem", self.initiator_key.clone(), true),
            ("initiator-chain.pem", self.initiator_chain(), false),
            ("root-ca.crl.pem", self.root_ca_crl.clone(), false),
            (
                "intermediate-ca.crl.pem",
                self.intermediate_ca_crl.clone(),
                false,
            ),
        ]
    }
}

fn write_file(path: &Path, contents: &str, secret: bool) -> std::io::Result<()> {
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create(true).truncate(true);
    #[cfg(unix)]
    if secret {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    #[cfg(not(unix))]
    let _ = secret;
    let mut f = opts.open(path)?;
    f.write_all(contents.as_bytes())
}

fn readme(key_types: &[DemoKeyType], days: u32) -> String {
    let dirs: Vec<&str> = key_types.iter().map(|k| k.dir_name()).collect();
    let first = dirs[0];
    format!(
        "\
guls demo PKI
=============

Made by `guls certs init` (rcgen) for the demo and for testing. It includes the CA private keys:
do not trust it for anything else.

Key types: {types}. Validity: {days} days from generation (CRLs too).

In each of {dirs}:

  root-ca.pem              self-signed root CA: CN=guls demo root CA (<type>),O=guls demo
  root-ca.key.pem          its private key (PKCS #8)
  intermediate-ca.pem      intermediate CA: CN=guls demo intermediate CA (<type>),O=guls demo
  intermediate-ca.key.pem  its private key
  responder.pem            end entity {responder}
                           keyUsage digitalSignature, extendedKeyUsage serverAuth
  responder.key.pem        its private key
  responder-chain.pem      responder.pem followed by intermediate-ca.pem (what the responder sends)
  initiator.pem            end entity {initiator}
                           keyUsage digitalSignature, extendedKeyUsage clientAuth
  initiator.key.pem        its private key
  initiator-chain.pem      initiator.pem followed by intermediate-ca.pem
  root-ca.crl.pem          empty CRL of the root CA
  intermediate-ca.crl.pem  empty CRL of the intermediate CA

The end-entity subjects are the demo AE-titles: a peer calling with the form 1 AP-title
{{O=guls demo, CN=guls-demo-initiator}} is bound to initiator.pem, and so on.

Responder policy (TOML, paths relative to the policy file):

  [trust]
  anchors = [\"{first}/root-ca.pem\"]
  crls = [\"{first}/root-ca.crl.pem\", \"{first}/intermediate-ca.crl.pem\"]

  [identity]
  cert = \"{first}/responder-chain.pem\"
  key = \"{first}/responder.key.pem\"

Initiator policy:

  [trust]
  anchors = [\"{first}/root-ca.pem\"]

  [identity]
  cert = \"{first}/initiator-chain.pem\"
  key = \"{first}/initiator.key.pem\"

Remake with: guls certs init DIR --force [--key-type ed25519|p256|both] [--days N]
",
        types = key_types
            .iter()
            .map(|k| k.label())
            .collect::<Vec<_>>()
            .join(", "),
        dirs = dirs
            .iter()
            .map(|d| format!("{d}/"))
            .collect::<Vec<_>>()
            .join(" and "),
        responder = RESPONDER_SUBJECT,
        initiator = INITIATOR_SUBJECT,
    )
}

/// `guls certs init`: writes the PKI(s) and README.txt; reports to `out`, failures to `err`.
pub fn init(args: &InitArgs, out: &mut dyn Write, err: &mut dyn Write) -> u8 {
    let key_types = args.key_type.key_types();
    if !args.force {
        for kt in &key_types {
            let probe = args.dir.join(kt.dir_name()).join("root-ca.pem");
            if probe.exists() {
                let _ = writeln!(
                    err,
                    "guls certs init: {} exists; use --force to replace the PKI",
                    probe.display()
                );
                return exit::FAILED;
            }
        }
    }
    let validity = Duration::from_secs(u64::from(args.days) * 86_400);
    for kt in &key_types {
        let pki = match DemoPki::generate(*kt, validity) {
            Ok(p) => p,
            Err(e) => {
                let _ = writeln!(err, "guls certs init: {e}");
                return exit::FAILED;
            }
        };
        let dir = args.dir.join(kt.dir_name());
        if let Err(e) = std::fs::create_dir_all(&dir) {
            let _ = writeln!(err, "guls certs init: {}: {e}", dir.display());
            return exit::FAILED;
        }
        for (name, contents, secret) in pki.files() {
            let path = dir.join(name);
            if let Err(e) = write_file(&path, &contents, secret) {
                let _ = writeln!(err, "guls certs init: {}: {e}", path.display());
                return exit::FAILED;
            }
        }
        let _ = writeln!(
            out,
            "{}: {} PKI (root CA, intermediate CA, {RESPONDER_SUBJECT}, {INITIATOR_SUBJECT}), valid {} days",
            dir.display(),
            kt.label(),
            args.days
        );
    }
    let path = args.dir.join("README.txt");
    if let Err(e) = write_file(&path, &readme(&key_types, args.days), false) {
        let _ = writeln!(err, "guls certs init: {}: {e}", path.display());
        return exit::FAILED;
    }
    let _ = writeln!(out, "{}", path.display());
    exit::OK
}

/// Runs a `guls certs` subcommand on standard output and error; returns the exit status.
pub fn run(cmd: &CertsCommand) -> u8 {
    let (mut out, mut err) = (std::io::stdout(), std::io::stderr());
    match cmd {
        CertsCommand::Init(args) => init(args, &mut out, &mut err),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use guls_policy::rustls_pki_types::UnixTime;
    use guls_policy::{Identity, ResponderPolicy, TrustStore};

    #[test]
    fn demo_pki_validates_with_both_providers() {
        let dir = std::env::temp_dir().join(format!("guls-certs-init-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let args = InitArgs {
            dir: dir.clone(),
            key_type: KeyTypeArg::Both,
            days: 30,
            force: false,
        };
        let (mut out, mut err) = (Vec::new(), Vec::new());
        assert_eq!(init(&args, &mut out, &mut err), exit::OK);
        // A second run without --force refuses to overwrite.
        assert_eq!(init(&args, &mut Vec::new(), &mut err), exit::FAILED);
        assert!(String::from_utf8_lossy(&err).contains("--force"));
        assert!(dir.join("README.txt").exists());
        let providers = [
            guls_crypto::ring::default_provider(),
            guls_crypto::rustcrypto::default_provider(),
        ];
        for kt in ["ed25519", "p256"] {
            let d = dir.join(kt);
            #[cfg(unix)]
            {
                use std::os::unix::fs::PermissionsExt;
                let mode = std::fs::metadata(d.join("responder.key.pem"))
                    .unwrap()
                    .permissions()
                    .mode();
                assert_eq!(mode & 0o077, 0, "key file readable by others");
            }
            let policy_text = "[trust]\nanchors = [\"root-ca.pem\"]\ncrls = [\"root-ca.crl.pem\", \"intermediate-ca.crl.pem\"]\nrequire_key_purpose = true\n\n[identity]\ncert = \"responder-chain.pem\"\nkey = \"responder.key.pem\"\n";
            let file = d.join("policy.toml");
            std::fs::write(&file, policy_text).unwrap();
            let policy = ResponderPolicy::load(&file).unwrap();
            let trust: &TrustStore = policy.trust().unwrap();
            let initiator =
                Identity::load(d.join("initiator-chain.pem"), d.join("initiator.key.pem")).unwrap();
            assert_eq!(initiator.subject(), INITIATOR_SUBJECT);
            assert_eq!(policy.identity().unwrap().subject(), RESPONDER_SUBJECT);
            let chain: Vec<&[u8]> = initiator.chain().iter().map(|c| c.as_ref()).collect();
            for p in &providers {
                initiator.signing_key(p).unwrap();
                policy.identity().unwrap().signing_key(p).unwrap();
                let peer = trust
                    .authenticate(
                        p,
                        &chain,
                        Some(&initiator.ap_title()),
                        None,
                        UnixTime::now(),
                    )
                    .unwrap();
                assert_eq!(peer.subject, INITIATOR_SUBJECT);
                // The responder's certificate does not bind to the initiator's AP-title.
                let responder = policy.identity().unwrap();
                let rchain: Vec<&[u8]> = responder.chain().iter().map(|c| c.as_ref()).collect();
                assert!(
                    trust
                        .authenticate(
                            p,
                            &rchain,
                            Some(&initiator.ap_title()),
                            None,
                            UnixTime::now()
                        )
                        .is_err()
                );
            }
        }
        let _ = std::fs::remove_dir_all(&dir);
    }
}
