//! The `guls` command-line program.
#![forbid(unsafe_code)]

use std::io::Read;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};

use guls::dissect::{self, DecodeFrom, OutputFormat};

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
    Demo,
    /// Dissect a TPKT stream, a TSDU or a capture through every layer.
    Decode(DecodeArgs),
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
    /// A file of hex text, raw octets or a capture; `-` or nothing reads standard input.
    file: Option<PathBuf>,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Demo => {
            println!("guls demo: not yet — the association stack (issue 3) is not built yet.");
            println!("Try `guls decode --help` to dissect OSI upper-layer traffic.");
            ExitCode::SUCCESS
        }
        Command::Decode(args) => run_decode(args),
    }
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
    let report = match dissect::dissect_input(&input, from) {
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
