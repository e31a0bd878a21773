//! A raw transport peer for initiator tests: a plain thread with a blocking std socket that
//! accepts one connection, reads the CR, and answers a CC only when told to, so that a test
//! can check what the initiator does between its CR and the CC. Shared with other crates'
//! tests through `#[path]`.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::Duration;

/// The CC the peer answers with (TPDU size 8192, T-selectors 0001).
pub const CC: [u8; 22] = [
    0x03, 0x00, 0x00, 0x16, 0x11, 0xd0, 0x00, 0x01, 0x00, 0x01, 0x00, 0xc0, 0x01, 0x0d, 0xc2, 0x02,
    0x00, 0x01, 0xc1, 0x02, 0x00, 0x01,
];

/// How long the peer waits for each step of the initiator.
pub const STEP: Duration = Duration::from_secs(5);

/// What the peer saw.
#[derive(Debug)]
pub struct Seen {
    /// The CR TPKT.
    pub cr: Vec<u8>,
    /// The CONNECT TSDU (CN + CP + AARQ), when a CC was sent.
    pub cn: Option<Vec<u8>>,
    /// Without a CC: whether the initiator closed the connection (end of stream) with
    /// nothing more after its CR.
    pub closed: bool,
}

/// When the peer answers the CR.
pub enum Cc {
    /// Never: it waits for the initiator to close.
    Never,
    /// At once.
    AtOnce,
    /// Once the test signals on this channel (within [`STEP`]).
    AfterSignal(mpsc::Receiver<()>),
}

/// Starts a peer: it reads the CR and tells `cr_read` (if given), answers per `cc`, and
/// reads the CONNECT after a CC (then closes: the initiator sees a TCP close without an
/// AARE).
pub fn raw_peer(
    cr_read: Option<mpsc::Sender<()>>,
    cc: Cc,
) -> (SocketAddr, JoinHandle<Result<Seen, String>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let peer = std::thread::spawn(move || {
        let (mut s, _) = listener.accept().map_err(|e| e.to_string())?;
        s.set_read_timeout(Some(STEP)).unwrap();
        let cr = read_tpkt(&mut s).map_err(|e| format!("CR: {e}"))?;
        if let Some(tx) = cr_read {
            let _ = tx.send(());
        }
        match cc {
            Cc::Never => {
                let mut b = [0u8; 64];
                let closed = matches!(s.read(&mut b), Ok(0));
                return Ok(Seen {
                    cr,
                    cn: None,
                    closed,
                });
            }
            Cc::AtOnce => {}
            Cc::AfterSignal(signal) => signal
                .recv_timeout(STEP)
                .map_err(|_| "no signal before the CC".to_string())?,
        }
        s.write_all(&CC).map_err(|e| e.to_string())?;
        let cn = read_tsdu(&mut s).map_err(|e| format!("CONNECT: {e}"))?;
        Ok(Seen {
            cr,
            cn: Some(cn),
            closed: false,
        })
    });
    (addr, peer)
}

/// Reads one TPKT (header + payload).
pub fn read_tpkt(s: &mut TcpStream) -> std::io::Result<Vec<u8>> {
    let mut v = vec![0u8; 4];
    s.read_exact(&mut v)?;
    let len = u16::from_be_bytes([v[2], v[3]]) as usize;
    v.resize(len.max(4), 0);
    s.read_exact(&mut v[4..])?;
    Ok(v)
}

/// Reads DT TPKTs up to the one with EOT: the TSDU.
pub fn read_tsdu(s: &mut TcpStream) -> std::io::Result<Vec<u8>> {
    let mut tsdu = Vec::new();
    loop {
        let f = read_tpkt(s)?;
        assert!(
            f.len() >= 7 && f[5] == 0xf0,
            "expected a DT, got {:02x?}",
            &f[..f.len().min(8)]
        );
        tsdu.extend_from_slice(&f[7..]);
        if f[6] & 0x80 != 0 {
            return Ok(tsdu);
        }
    }
}
