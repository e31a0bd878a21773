//! The `guls` command-line program.
#![forbid(unsafe_code)]

use std::io::{IsTerminal, Read};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, Subcommand, ValueEnum};
use zeroize::Zeroizing;

use guls::admin::{self, PolicyKind};
use guls::connect::{self, ConnectOptions, Payload, exit};
use guls::dissect::{self, DecodeFrom, OutputFormat};
use guls::profile::{ContextArg, Profile};
use guls::serve::{self, ServeError, ServeOptions};

/// guls: Generic Upper Layers Security over an OSI upper-layer stack.
#[derive(Debug, Parser)]
#[command(name = "guls", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run a responder and an initiator on loopback and show each step.
    #[command(
        long_about = "Run a responder and an initiator in this process on loopback (port 0): \
            associate, send a value, get it echoed, release, and print each step. Needs no \
            set-up. By default both ends authenticate by certificate (a fresh in-memory \
            demo PKI) with the signed key agreement; --password runs the password demo. \
            Exit status 0 when every step succeeded, 1 otherwise."
    )]
    Demo(DemoArgs),
    /// Accept associations, echo P-DATA back and answer releases, logging every event.
    #[command(after_help = SERVE_HELP)]
    Serve(ServeArgs),
    /// Associate with a responder, send one value, print the reply, release.
    #[command(after_help = CONNECT_HELP)]
    Connect(ConnectArgs),
    /// Dissect a TPKT stream, a TSDU or a capture through every layer.
    Decode(DecodeArgs),
    /// Check policy files and make password hashes for them.
    #[command(subcommand)]
    Policy(PolicyCommand),
    /// Verify and read audit logs.
    #[command(subcommand)]
    Audit(AuditCommand),
    /// Make the demo PKI (certificates and keys for certificate-based authentication).
    #[command(subcommand)]
    Certs(guls::certs::CertsCommand),
}

#[derive(Debug, Subcommand)]
enum PolicyCommand {
    /// Validate a responder or initiator policy and print its summary.
    #[command(after_help = "\
The kind is detected from the keys ([[peer]] or a [default] with `mechanism` is an initiator \
policy; [[rule]], [limits], [timeouts] or `mechanisms` a responder policy) unless --initiator \
or --responder says it. Errors are printed as FILE:LINE:COL: message.

Exit status: 0 valid, 1 invalid, 2 unreadable file.")]
    Check {
        /// The policy file.
        #[arg(value_name = "FILE")]
        file: PathBuf,
        /// Check it as an initiator policy.
        #[arg(long, conflicts_with = "responder")]
        initiator: bool,
        /// Check it as a responder policy.
        #[arg(long)]
        responder: bool,
    },
    /// Read a password from the first line of standard input and print its argon2id PHC
    /// string for a responder policy's `password_hash` (the password is never printed).
    #[command(after_help = "\
Example: printf '%s\\n' 'my password' | guls policy hash-password

Exit status: 0 printed, 1 no password given.")]
    HashPassword,
}

#[derive(Debug, Subcommand)]
enum AuditCommand {
    /// Check an audit log's hash chain.
    #[command(after_help = "\
Prints `N records, associations M, head hash H` and exits 0 when the chain verifies; prints \
`FILE: line N: what` (edited, deleted, inserted, reordered or malformed record) and exits 1 \
otherwise; exit 2 when the file cannot be read. Keep the head hash elsewhere to detect the \
removal of the last records later.")]
    Verify {
        /// The audit log (JSON lines).
        #[arg(value_name = "FILE")]
        file: PathBuf,
    },
    /// Print an audit log as a table.
    Show {
        /// The audit log (JSON lines).
        #[arg(value_name = "FILE")]
        file: PathBuf,
        /// Only the associations with this peer (address, host without port, or
        /// authenticated identity).
        #[arg(long, value_name = "PEER")]
        peer: Option<String>,
        /// Only the associations with this outcome.
        #[arg(long, value_enum)]
        outcome: Option<OutcomeArg>,
    },
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum OutcomeArg {
    /// Associations with an authentication failure, a rejection or an abort.
    Failed,
}

const SERVE_HELP: &str = "\
The first line on standard output is `listening on ADDR`. Events are logged to standard error \
(tracing target guls::serve, level info; RUST_LOG overrides, e.g. RUST_LOG=guls=debug). \
Each A-ASSOCIATE indication is first decided by the responder policy (--policy FILE; default: \
the open policy, every peer without authentication): a rejection carries its diagnostic \
(11 mechanism name not recognized, 12 mechanism name required, 13 authentication failure, \
14 authentication required). The policy's [limits] and [timeouts] apply unless \
--max-associations / --idle-timeout are given. With --audit FILE every request, decision, \
authentication, acceptance, rejection, release and abort (also of connections that fail before \
the AARQ decodes) is appended to FILE as hash-chained JSON lines (`guls audit verify FILE`). \
Associations whose application context is not the profile's are rejected (rejected-permanent, \
acse-service-user: application-context-name-not-supported (2)). Ctrl-C stops accepting and \
waits for the live associations; a second Ctrl-C aborts them.

Exit status: 0 stopped normally, 1 cannot listen or cannot continue the audit log, 2 usage \
error (including an invalid policy, reported as FILE:LINE:COL: message).";

const CONNECT_HELP: &str = "\
Passwords are read from a file or an environment variable, never from the command line, and \
are never printed. With --policy FILE (an initiator policy) the password is chosen by the \
peer's address and the called AP-title (--called-ap-title), from the file or variable the \
matching entry names.

Exit status:
  0  accepted, data exchanged (when --send/--send-hex was given) and released
  1  accepted and released, but the exchange failed (data context not accepted, no reply)
  2  usage error (bad arguments, unreadable password file, unset variable)
  3  rejected: an AARE with a rejected result (result, source and diagnostic are printed),
     or a refusal by the peer's presentation or session provider
  4  rejected by the peer without an AARE: TCP closed after the CONNECT (libiec61850's way)
  5  aborted: A-ABORT or A-P-ABORT (source, reason and layer are printed)
  6  connection failed: TCP connect refused/unreachable, or a timeout before establishment";

#[derive(Debug, Clone, Copy, Default, ValueEnum)]
enum ProfileArg {
    /// Demo application context ARC.4.1 and abstract syntax ARC.4.2 (BER).
    #[default]
    Demo,
    /// ACSE + MMS (application context 1.0.9506.2.3, abstract syntax 1.0.9506.2.1) with the
    /// MMS Initiate-Request/Response in the AARQ/AARE.
    Mms,
}

impl From<ProfileArg> for Profile {
    fn from(p: ProfileArg) -> Profile {
        match p {
            ProfileArg::Demo => Profile::Demo,
            ProfileArg::Mms => Profile::Mms,
        }
    }
}

#[derive(Debug, clap::Args)]
struct DemoArgs {
    /// Run the password demo (mechanism 2.2.3.1, argon2id) instead of the certificate one.
    #[arg(long)]
    password: bool,
}

#[derive(Debug, clap::Args)]
struct ServeArgs {
    /// Address to listen on, e.g. 127.0.0.1:10102 (port 0 picks a free port).
    #[arg(long, value_name = "ADDR")]
    listen: String,
    /// A further presentation context supported: ABSTRACT-SYNTAX=TRANSFER-SYNTAX (OIDs);
    /// repeatable.
    #[arg(long = "context", value_name = "AS=TS")]
    contexts: Vec<ContextArg>,
    /// The association profile.
    #[arg(long, value_enum, default_value = "demo")]
    profile: ProfileArg,
    /// Most associations alive at once (further TCP connections are closed at once).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    max_associations: Option<u32>,
    /// Abort an association after this many seconds without data from the peer.
    #[arg(long, value_name = "SECS", value_parser = clap::value_parser!(u64).range(1..))]
    idle_timeout: Option<u64>,
    /// Serve one association, then exit.
    #[arg(long)]
    once: bool,
    /// Decide on every association with this responder policy (TOML; see policies/*.toml).
    /// Default: the open policy (every peer, no authentication).
    #[arg(long, value_name = "FILE")]
    policy: Option<PathBuf>,
    /// Append the audit records to this file (created if missing; an existing log must
    /// verify).
    #[arg(long, value_name = "FILE")]
    audit: Option<PathBuf>,
    #[command(flatten)]
    psk: PskArgs,
    #[command(flatten)]
    cert: CertArgs,
}

/// The pre-shared key of the experimental `hmac-challenge` exchange.
#[derive(Debug, clap::Args)]
struct PskArgs {
    /// Enable the `hmac-challenge` security exchange (ARC.9.1, experimental) with the
    /// pre-shared key in this file (never printed).
    #[arg(long, value_name = "FILE")]
    psk_file: Option<PathBuf>,
    /// The initiator identity the pre-shared key belongs to.
    #[arg(
        long,
        value_name = "NAME",
        default_value = "guls",
        requires = "psk_file"
    )]
    psk_identity: String,
}

impl PskArgs {
    fn builtins(&self, cert: &CertArgs) -> Result<guls::exchanges::BuiltIns, String> {
        let psk = match &self.psk_file {
            Some(f) => Some(
                guls::exchanges::Psk::load(&self.psk_identity, f)
                    .map_err(|e| format!("--psk-file: {e}"))?,
            ),
            None => None,
        };
        Ok(guls::exchanges::BuiltIns {
            psk,
            cert: cert.options()?,
            ..Default::default()
        })
    }
}

/// Certificate-based authentication (dir-authentication-one-way / -two-way,
/// signed-key-agreement).
#[derive(Debug, clap::Args)]
struct CertArgs {
    /// Our certificate chain (PEM or DER, end entity first); overrides the policy's
    /// [identity]. Needs --key.
    #[arg(long, value_name = "FILE", requires = "key")]
    cert: Option<PathBuf>,
    /// Our private key (PKCS #8, PEM or DER; never printed). Needs --cert.
    #[arg(long, value_name = "FILE", requires = "cert")]
    key: Option<PathBuf>,
    /// Trust anchors (PEM or DER certificates); override the policy's [trust] anchors,
    /// keeping its options (clock_skew_secs, key usage, ...).
    #[arg(long, value_name = "FILE")]
    trust: Option<PathBuf>,
    /// A CRL (PEM or DER) checked on every path; repeatable.
    #[arg(long, value_name = "FILE")]
    crl: Vec<PathBuf>,
    /// The crypto provider of the certificate exchanges.
    #[arg(long, value_enum, default_value = "ring")]
    crypto_provider: ProviderArg,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum ProviderArg {
    /// *ring*.
    Ring,
    /// The RustCrypto crates.
    Rustcrypto,
}

impl CertArgs {
    fn options(&self) -> Result<guls::exchanges::CertOptions, String> {
        let mut o = guls::exchanges::CertOptions {
            provider: match self.crypto_provider {
                ProviderArg::Ring => guls::exchanges::ProviderChoice::Ring,
                ProviderArg::Rustcrypto => guls::exchanges::ProviderChoice::RustCrypto,
            },
            ..Default::default()
        };
        if let (Some(c), Some(k)) = (&self.cert, &self.key) {
            o.identity =
                Some(guls_policy::Identity::load(c, k).map_err(|e| format!("--cert/--key: {e}"))?);
        }
        if let Some(t) = &self.trust {
            let anchors = guls_policy::load_certificates(t)
                .map_err(|e| format!("--trust {}: {e}", t.display()))?;
            o.trust = Some(
                guls_policy::TrustStore::new(&anchors)
                    .map_err(|e| format!("--trust {}: {e}", t.display()))?,
            );
        }
        for c in &self.crl {
            o.crls.extend(
                guls_policy::load_crls(c).map_err(|e| format!("--crl {}: {e}", c.display()))?,
            );
        }
        Ok(o)
    }
}

#[derive(Debug, clap::Args)]
struct ConnectArgs {
    /// The responder's address, e.g. 127.0.0.1:10102.
    #[arg(value_name = "ADDR")]
    addr: String,
    /// Send this text (its UTF-8 octets, in an octet-aligned PDV).
    #[arg(long, value_name = "TEXT", conflicts_with = "send_hex")]
    send: Option<String>,
    /// Send these octets: a single-ASN1-type PDV when they are one BER TLV, else octet-aligned.
    #[arg(long, value_name = "HEX")]
    send_hex: Option<String>,
    /// A further presentation context to propose: ABSTRACT-SYNTAX=TRANSFER-SYNTAX (OIDs);
    /// repeatable. Data goes in the first one given, else in the profile's context.
    #[arg(long = "context", value_name = "AS=TS")]
    contexts: Vec<ContextArg>,
    /// The association profile.
    #[arg(long, value_enum, default_value = "demo")]
    profile: ProfileArg,
    /// Authenticate with the password in this file (one trailing line break is ignored).
    #[arg(long, value_name = "FILE", conflicts_with_all = ["password_env", "policy"])]
    password_file: Option<PathBuf>,
    /// Authenticate with the password in this environment variable.
    #[arg(long, value_name = "VAR", conflicts_with = "policy")]
    password_env: Option<String>,
    /// Choose the authentication by an initiator policy (TOML, see policies/initiator.toml):
    /// the first entry matching the peer's address and the called AP-title.
    #[arg(long, value_name = "FILE")]
    policy: Option<PathBuf>,
    /// Calling AP-title to send: a dotted object identifier (form 2) or a Directory name
    /// such as "CN=ied1,O=utility" (form 1). Default with a certificate: its subject.
    #[arg(long, value_name = "TITLE", value_parser = guls_policy::parse_ap_title)]
    calling_ap_title: Option<guls_association::ApTitle>,
    /// Calling AE-qualifier to send (form 2, an integer).
    #[arg(long, value_name = "N")]
    calling_ae_qualifier: Option<i64>,
    /// Called AP-title to send: a dotted object identifier (form 2) or a Directory name
    /// (form 1; the certificate exchanges address the responder by it and bind it to its
    /// certificate).
    #[arg(long, value_name = "TITLE", value_parser = guls_policy::parse_ap_title)]
    called_ap_title: Option<guls_association::ApTitle>,
    /// Bound, in seconds, of each step: TCP connect, establishment, the reply, the release.
    #[arg(long, value_name = "SECS", default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..))]
    timeout: u64,
    /// Run this security exchange (a name such as simple-negotiation or hmac-challenge, or a
    /// dotted OID); repeatable: several are negotiated with simpleNegotiationSE first.
    #[arg(long = "exchange", value_name = "NAME", conflicts_with_all = ["password_file", "password_env"])]
    exchanges: Vec<String>,
    /// Where the first exchange item travels.
    #[arg(long, value_enum)]
    carrier: Option<CarrierArg>,
    /// Append the audit records (SESE primitives, exchange end, rejection) to this file.
    #[arg(long, value_name = "FILE")]
    audit: Option<PathBuf>,
    #[command(flatten)]
    psk: PskArgs,
    #[command(flatten)]
    cert: CertArgs,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum CarrierArg {
    /// The ACSE authentication fields (mechanism name = the exchange).
    AuthenticationValue,
    /// The ACSE user-information.
    UserInformation,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum FromArg {
    /// A stream of RFC 1006 TPKTs (COTP inside).
    Tpkt,
    /// One TSDU: session SPDUs without TPKT/COTP.
    Session,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum FormatArg {
    /// An indented tree for people.
    Text,
    /// A JSON array, one object per unit.
    Json,
}

#[derive(Debug, clap::Args)]
struct DecodeArgs {
    /// What the input holds (ignored for pcap/pcapng files, which are always TCP streams).
    #[arg(long, value_enum, default_value = "tpkt")]
    from: FromArg,
    /// Output format.
    #[arg(long, value_enum, default_value = "text")]
    format: FormatArg,
    /// Input as hexadecimal text (whitespace and ':' ignored).
    #[arg(long, conflicts_with_all = ["pcap", "file"])]
    hex: Option<String>,
    /// A pcap or pcapng capture.
    #[arg(long, conflicts_with = "file")]
    pcap: Option<PathBuf>,
    /// Treat presentation context N as the SESE context (abstract syntax ARC.1.1), for inputs
    /// without the CP that names it; repeatable. SESE APDUs are shown under `sese`, items by
    /// length only.
    #[arg(long = "sese-pcid", value_name = "N")]
    sese_pcids: Vec<i64>,
    /// A file of hex text, raw octets or a capture; `-` or nothing reads standard input.
    file: Option<PathBuf>,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Demo(args) => {
            init_tracing("warn");
            run_async(async move {
                let mut out = std::io::stdout();
                let r = if args.password {
                    guls::demo::run_password(&mut out).await
                } else {
                    guls::demo::run(&mut out).await
                };
                match r {
                    Ok(()) => ExitCode::SUCCESS,
                    Err(e) => {
                        eprintln!("guls demo: {e}");
                        ExitCode::from(1)
                    }
                }
            })
        }
        Command::Serve(args) => {
            init_tracing("info");
            run_serve(args)
        }
        Command::Connect(args) => {
            init_tracing("warn");
            run_connect(args)
        }
        Command::Decode(args) => run_decode(args),
        Command::Policy(cmd) => ExitCode::from(run_policy(cmd)),
        Command::Audit(cmd) => ExitCode::from(run_audit(cmd)),
        Command::Certs(cmd) => ExitCode::from(guls::certs::run(&cmd)),
    }
}

fn run_policy(cmd: PolicyCommand) -> u8 {
    let (mut out, mut err) = (std::io::stdout(), std::io::stderr());
    match cmd {
        PolicyCommand::Check {
            file,
            initiator,
            responder,
        } => {
            let kind = if initiator {
                Some(PolicyKind::Initiator)
            } else if responder {
                Some(PolicyKind::Responder)
            } else {
                None
            };
            admin::policy_check(&file, kind, &mut out, &mut err)
        }
        PolicyCommand::HashPassword => {
            admin::hash_password(&mut std::io::stdin().lock(), &mut out, &mut err)
        }
    }
}

fn run_audit(cmd: AuditCommand) -> u8 {
    let (mut out, mut err) = (std::io::stdout(), std::io::stderr());
    match cmd {
        AuditCommand::Verify { file } => admin::audit_verify(&file, &mut out, &mut err),
        AuditCommand::Show {
            file,
            peer,
            outcome,
        } => {
            let filter = guls_audit::ShowFilter {
                peer,
                outcome_failed: matches!(outcome, Some(OutcomeArg::Failed)),
            };
            admin::audit_show(&file, &filter, &mut out, &mut err)
        }
    }
}

/// Logs go to standard error; `RUST_LOG` overrides the default level.
fn init_tracing(default: &str) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .try_init();
}

fn run_async(f: impl std::future::Future<Output = ExitCode>) -> ExitCode {
    match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt.block_on(f),
        Err(e) => {
            eprintln!("guls: cannot start the runtime: {e}");
            ExitCode::from(1)
        }
    }
}

use guls_policy::exchanges::ExchangeCarrier;

fn run_serve(args: ServeArgs) -> ExitCode {
    let opts = ServeOptions {
        listen: args.listen,
        profile: args.profile.into(),
        contexts: args.contexts,
        max_associations: args.max_associations.map(|n| n as usize),
        idle_timeout: args.idle_timeout.map(Duration::from_secs),
        once: args.once,
        policy: args.policy,
        audit: args.audit,
        builtins: match args.psk.builtins(&args.cert) {
            Ok(b) => b,
            Err(e) => {
                eprintln!("guls serve: {e}");
                return ExitCode::from(2);
            }
        },
    };
    run_async(async move {
        match serve::serve(opts).await {
            Ok(()) => ExitCode::SUCCESS,
            Err(e @ ServeError::Usage(_)) => {
                eprintln!("guls serve: {e}");
                ExitCode::from(2)
            }
            Err(e) => {
                eprintln!("guls serve: {e}");
                ExitCode::from(1)
            }
        }
    })
}

fn run_connect(args: ConnectArgs) -> ExitCode {
    let usage = |m: String| {
        eprintln!("guls connect: {m}");
        ExitCode::from(exit::USAGE)
    };
    let payload = match (&args.send, &args.send_hex) {
        (Some(t), _) => Some(Payload::Text(t.clone())),
        (None, Some(h)) => match guls_ber::parse_hex(h) {
            Ok(v) if !v.is_empty() => Some(Payload::Hex(v)),
            Ok(_) => return usage("--send-hex: no octets".into()),
            Err(e) => return usage(format!("--send-hex: {e}")),
        },
        (None, None) => None,
    };
    let password = if let Some(path) = &args.password_file {
        match std::fs::read(path) {
            Ok(v) => {
                let mut v = Zeroizing::new(v);
                if v.last() == Some(&b'\n') {
                    v.pop();
                    if v.last() == Some(&b'\r') {
                        v.pop();
                    }
                }
                Some(v)
            }
            Err(e) => return usage(format!("--password-file {}: {e}", path.display())),
        }
    } else if let Some(var) = &args.password_env {
        match std::env::var_os(var) {
            Some(v) => Some(Zeroizing::new(v.into_encoded_bytes())),
            None => return usage(format!("--password-env: {var} is not set")),
        }
    } else {
        None
    };
    let policy = match &args.policy {
        Some(p) => match guls_policy::InitiatorPolicy::load(p) {
            Ok(p) => Some(p),
            Err(e) => return usage(e.to_string()),
        },
        None => None,
    };
    let mut exchanges = Vec::new();
    for x in &args.exchanges {
        match guls_policy::exchanges::exchange_oid(x) {
            Ok(o) => exchanges.push(o),
            Err(e) => return usage(format!("--exchange: {e}")),
        }
    }
    let builtins = match args.psk.builtins(&args.cert) {
        Ok(b) => b,
        Err(e) => return usage(e),
    };
    let opts = ConnectOptions {
        addr: args.addr,
        profile: args.profile.into(),
        contexts: args.contexts,
        payload,
        password,
        policy,
        calling_ap_title: args.calling_ap_title,
        calling_ae_qualifier: args
            .calling_ae_qualifier
            .map(guls_association::AeQualifier::Form2),
        called_ap_title: args.called_ap_title,
        timeout: Duration::from_secs(args.timeout),
        exchanges,
        carrier: args.carrier.map(|c| match c {
            CarrierArg::AuthenticationValue => ExchangeCarrier::AuthenticationValue,
            CarrierArg::UserInformation => ExchangeCarrier::UserInformation,
        }),
        builtins,
        audit: args.audit,
    };
    run_async(async move {
        let mut out = std::io::stdout();
        let mut err = std::io::stderr();
        ExitCode::from(connect::connect(opts, &mut out, &mut err).await)
    })
}

fn run_decode(args: DecodeArgs) -> ExitCode {
    let input = match read_input(&args) {
        Ok(i) => i,
        Err(e) => {
            eprintln!("guls decode: {e}");
            return ExitCode::from(2);
        }
    };
    let from = match args.from {
        FromArg::Tpkt => DecodeFrom::Tpkt,
        FromArg::Session => DecodeFrom::Session,
    };
    let format = match args.format {
        FormatArg::Text => OutputFormat::Text,
        FormatArg::Json => OutputFormat::Json,
    };
    let opts = dissect::DissectOptions {
        sese_pcids: args.sese_pcids.clone(),
    };
    let report = match dissect::dissect_input_with(&input, from, &opts) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("guls decode: {e}");
            return ExitCode::from(2);
        }
    };
    print!("{}", report.render(format));
    if report.failed() {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}

fn read_input(args: &DecodeArgs) -> Result<Vec<u8>, String> {
    if let Some(hex) = &args.hex {
        return guls_ber::parse_hex(hex).map_err(|e| format!("--hex: {e}"));
    }
    let raw = match args.pcap.as_ref().or(args.file.as_ref()) {
        Some(p) if p.as_os_str() != "-" => {
            std::fs::read(p).map_err(|e| format!("{}: {e}", p.display()))?
        }
        _ => {
            let mut buf = Vec::new();
            std::io::stdin()
                .take(dissect::MAX_INPUT_OCTETS as u64 + 1)
                .read_to_end(&mut buf)
                .map_err(|e| format!("stdin: {e}"))?;
            buf
        }
    };
    if raw.len() > dissect::MAX_INPUT_OCTETS {
        return Err(format!(
            "input larger than {} octets",
            dissect::MAX_INPUT_OCTETS
        ));
    }
    if args.pcap.is_some() || guls::capture::looks_like_capture(&raw) {
        return Ok(raw);
    }
    // A file of hex text (the common case for pasted traces), else raw octets.
    match std::str::from_utf8(&raw) {
        Ok(text)
            if !text.trim().is_empty()
                && text
                    .bytes()
                    .all(|b| b.is_ascii_hexdigit() || b.is_ascii_whitespace() || b == b':') =>
        {
            guls_ber::parse_hex(text).map_err(|e| format!("hex input: {e}"))
        }
        _ => Ok(raw),
    }
}
