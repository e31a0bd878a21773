//! Reading pcap and pcapng captures: TCP payloads reassembled per direction.
//!
//! The link layers understood are Ethernet, Linux cooked (SLL and SLL2), BSD loopback (NULL and
//! LOOP), raw IPv4/IPv6, and the user link types (147..162), which text2pcap uses for frames
//! that are TPKTs with no TCP/IP at all. TCP segments are placed by sequence number relative to
//! the first one seen, so retransmissions and reordering are undone; a gap ends the usable
//! stream of that direction.

use std::collections::BTreeMap;
use std::fmt;
use std::io::Cursor;
use std::net::IpAddr;

use pcap_file::pcap::PcapReader;
use pcap_file::pcapng::{Block, PcapNgReader};

/// The most octets kept for one direction of one TCP connection.
pub const MAX_STREAM_OCTETS: usize = 64 * 1024 * 1024;

/// One end of a TCP connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Endpoint {
    /// IP address.
    pub ip: IpAddr,
    /// TCP port.
    pub port: u16,
}

impl fmt::Display for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.ip {
            IpAddr::V4(a) => write!(f, "{a}:{}", self.port),
            IpAddr::V6(a) => write!(f, "[{a}]:{}", self.port),
        }
    }
}

/// The reassembled bytes of one direction of one TCP connection (or of a user-link capture).
#[derive(Debug, Clone)]
pub struct DirectedStream {
    /// Index of the connection in order of first appearance (0-based).
    pub stream: usize,
    /// Sender, when the capture has TCP/IP.
    pub src: Option<Endpoint>,
    /// Receiver, when the capture has TCP/IP.
    pub dst: Option<Endpoint>,
    /// The contiguous payload from the first segment on.
    pub bytes: Vec<u8>,
    /// For each payload octet range, the index of the packet that carried it (ascending): a unit
    /// that ends at octet `n` is ordered by the packet that completed it.
    pub packet_marks: Vec<(usize, usize)>,
    /// True when a gap (missing segment) cut the stream short.
    pub gap: bool,
}

impl DirectedStream {
    /// Index of the packet that delivered octet `offset` of the stream.
    pub fn packet_of(&self, offset: usize) -> usize {
        let i = self.packet_marks.partition_point(|&(end, _)| end <= offset);
        self.packet_marks
            .get(i)
            .or(self.packet_marks.last())
            .map_or(0, |&(_, p)| p)
    }

    /// "a -> b" for display, or "stream N" when there are no addresses.
    pub fn label(&self) -> String {
        match (self.src, self.dst) {
            (Some(s), Some(d)) => format!("{s} -> {d}"),
            _ => format!("stream {}", self.stream),
        }
    }
}

/// Why a capture could not be read.
#[derive(Debug, thiserror::Error)]
pub enum CaptureError {
    /// The file is neither pcap nor pcapng, or is corrupt.
    #[error("capture: {0}")]
    Format(String),
    /// A direction exceeded [`MAX_STREAM_OCTETS`].
    #[error("capture: a TCP stream exceeds {MAX_STREAM_OCTETS} octets")]
    TooLarge,
}

/// True when `data` starts like a pcap or pcapng file.
pub fn looks_like_capture(data: &[u8]) -> bool {
    matches!(
        data.get(..4),
        Some([0xd4, 0xc3, 0xb2, 0xa1])
            | Some([0xa1, 0xb2, 0xc3, 0xd4])
            | Some([0x4d, 0x3c, 0xb2, 0xa1])
            | Some([0xa1, 0xb2, 0x3c, 0x4d])
            | Some([0x0a, 0x0d, 0x0d, 0x0a])
    )
}

/// A packet's link type and bytes.
struct RawPacket {
    linktype: u32,
    data: Vec<u8>,
}

fn read_packets(data: &[u8]) -> Result<Vec<RawPacket>, CaptureError> {
    let fmt_err = |e: pcap_file::PcapError| CaptureError::Format(e.to_string());
    let mut out = Vec::new();
    if data.starts_with(&[0x0a, 0x0d, 0x0d, 0x0a]) {
        let mut reader = PcapNgReader::new(Cursor::new(data)).map_err(fmt_err)?;
        let mut linktypes: Vec<u32> = Vec::new();
        while let Some(block) = reader.next_block() {
            match block.map_err(fmt_err)? {
                Block::SectionHeader(_) => linktypes.clear(),
                Block::InterfaceDescription(idb) => linktypes.push(u32::from(idb.linktype)),
                Block::EnhancedPacket(epb) => {
                    let linktype = *linktypes.get(epb.interface_id as usize).ok_or_else(|| {
                        CaptureError::Format("packet names an unknown interface".into())
                    })?;
                    out.push(RawPacket {
                        linktype,
                        data: epb.data.into_owned(),
                    });
                }
                Block::SimplePacket(spb) => {
                    let linktype = *linktypes.first().ok_or_else(|| {
                        CaptureError::Format("simple packet before any interface".into())
                    })?;
                    out.push(RawPacket {
                        linktype,
                        data: spb.data.into_owned(),
                    });
                }
                _ => {}
            }
        }
    } else {
        let mut reader = PcapReader::new(Cursor::new(data)).map_err(fmt_err)?;
        let linktype = u32::from(reader.header().datalink);
        while let Some(packet) = reader.next_packet() {
            let packet = packet.map_err(fmt_err)?;
            out.push(RawPacket {
                linktype,
                data: packet.data.into_owned(),
            });
        }
    }
    Ok(out)
}

/// A TCP segment found in a packet.
struct Segment<'a> {
    src: Endpoint,
    dst: Endpoint,
    seq: u32,
    syn: bool,
    payload: &'a [u8],
}

fn be16(d: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_be_bytes([*d.get(at)?, *d.get(at + 1)?]))
}

fn be32(d: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_be_bytes([
        *d.get(at)?,
        *d.get(at + 1)?,
        *d.get(at + 2)?,
        *d.get(at + 3)?,
    ]))
}

/// The IP packet inside a link-layer frame.
fn ip_payload(linktype: u32, d: &[u8]) -> Option<&[u8]> {
    match linktype {
        // Ethernet, with up to two VLAN tags.
        1 => {
            let mut at = 12;
            let mut ethertype = be16(d, at)?;
            while ethertype == 0x8100 || ethertype == 0x88a8 {
                at += 4;
                ethertype = be16(d, at)?;
            }
            matches!(ethertype, 0x0800 | 0x86dd).then(|| d.get(at + 2..))?
        }
        // BSD loopback: a 4-octet address family in either byte order.
        0 | 108 => d.get(4..),
        // Linux cooked v1 (16-octet header) and v2 (20-octet header).
        113 => d.get(16..),
        276 => d.get(20..),
        // Raw IP.
        12 | 14 | 101 | 228 | 229 => Some(d),
        _ => None,
    }
}

fn tcp_segment(ip: &[u8]) -> Option<Segment<'_>> {
    let version = ip.first()? >> 4;
    let (src_ip, dst_ip, proto, l4): (IpAddr, IpAddr, u8, &[u8]) = match version {
        4 => {
            let ihl = ((ip[0] & 0x0f) as usize) * 4;
            let total = be16(ip, 2)? as usize;
            let frag = be16(ip, 6)?;
            if frag & 0x1fff != 0 || frag & 0x2000 != 0 {
                // Fragmented IP: not reassembled.
                return None;
            }
            let src: [u8; 4] = ip.get(12..16)?.try_into().ok()?;
            let dst: [u8; 4] = ip.get(16..20)?.try_into().ok()?;
            let end = total.min(ip.len());
            (src.into(), dst.into(), *ip.get(9)?, ip.get(ihl..end)?)
        }
        6 => {
            let len = be16(ip, 4)? as usize;
            let src: [u8; 16] = ip.get(8..24)?.try_into().ok()?;
            let dst: [u8; 16] = ip.get(24..40)?.try_into().ok()?;
            let end = (40 + len).min(ip.len());
            // Extension headers are not followed: TCP directly after the fixed header only.
            (src.into(), dst.into(), *ip.get(6)?, ip.get(40..end)?)
        }
        _ => return None,
    };
    if proto != 6 {
        return None;
    }
    let sport = be16(l4, 0)?;
    let dport = be16(l4, 2)?;
    let seq = be32(l4, 4)?;
    let offset = ((*l4.get(12)? >> 4) as usize) * 4;
    let flags = *l4.get(13)?;
    Some(Segment {
        src: Endpoint {
            ip: src_ip,
            port: sport,
        },
        dst: Endpoint {
            ip: dst_ip,
            port: dport,
        },
        seq,
        syn: flags & 0x02 != 0,
        payload: l4.get(offset..)?,
    })
}

struct Flow {
    stream: usize,
    src: Endpoint,
    dst: Endpoint,
    /// Sequence number of the first payload octet.
    base: Option<u32>,
    /// Segments by offset from `base`, with the packet index.
    segments: BTreeMap<u64, (Vec<u8>, usize)>,
    held: usize,
}

/// Reads a capture and returns every direction of every TCP connection (or, for user link
/// types, one pseudo-stream per packet sequence) reassembled.
pub fn read_capture(data: &[u8]) -> Result<Vec<DirectedStream>, CaptureError> {
    let packets = read_packets(data)?;
    let mut flows: Vec<Flow> = Vec::new();
    let mut connections: Vec<(Endpoint, Endpoint)> = Vec::new();
    let mut user_stream: Option<DirectedStream> = None;
    for (index, packet) in packets.iter().enumerate() {
        if (147..=162).contains(&packet.linktype) {
            let s = user_stream.get_or_insert_with(|| DirectedStream {
                stream: 0,
                src: None,
                dst: None,
                bytes: Vec::new(),
                packet_marks: Vec::new(),
                gap: false,
            });
            if s.bytes.len() + packet.data.len() > MAX_STREAM_OCTETS {
                return Err(CaptureError::TooLarge);
            }
            s.bytes.extend_from_slice(&packet.data);
            s.packet_marks.push((s.bytes.len(), index));
            continue;
        }
        let Some(seg) = ip_payload(packet.linktype, &packet.data).and_then(tcp_segment) else {
            continue;
        };
        let key = (seg.src, seg.dst);
        let flow_index = match flows.iter().position(|f| (f.src, f.dst) == key) {
            Some(i) => i,
            None => {
                let conn = if seg.src <= seg.dst {
                    (seg.src, seg.dst)
                } else {
                    (seg.dst, seg.src)
                };
                let stream = match connections.iter().position(|c| *c == conn) {
                    Some(s) => s,
                    None => {
                        connections.push(conn);
                        connections.len() - 1
                    }
                };
                flows.push(Flow {
                    stream,
                    src: seg.src,
                    dst: seg.dst,
                    base: None,
                    segments: BTreeMap::new(),
                    held: 0,
                });
                flows.len() - 1
            }
        };
        let flow = &mut flows[flow_index];
        if seg.syn {
            flow.base = Some(seg.seq.wrapping_add(1));
        }
        if seg.payload.is_empty() {
            continue;
        }
        let base = *flow.base.get_or_insert(seg.seq);
        let rel = seg.seq.wrapping_sub(base);
        // Segments from "before" the base (a wrap past 2^31) are retransmissions of old data.
        if rel > u32::MAX / 2 {
            continue;
        }
        if flow.held + seg.payload.len() > MAX_STREAM_OCTETS {
            return Err(CaptureError::TooLarge);
        }
        let rel = rel as u64;
        if let Some((existing, _)) = flow.segments.get(&rel) {
            if existing.len() >= seg.payload.len() {
                continue;
            }
        }
        flow.held += seg.payload.len();
        flow.segments.insert(rel, (seg.payload.to_vec(), index));
    }
    let mut out: Vec<DirectedStream> = Vec::new();
    if let Some(s) = user_stream {
        out.push(s);
    }
    for flow in flows {
        let mut bytes = Vec::new();
        let mut marks = Vec::new();
        let mut gap = false;
        for (rel, (payload, index)) in flow.segments {
            let rel = rel as usize;
            let end = rel + payload.len();
            if rel > bytes.len() {
                gap = true;
                break;
            }
            if end <= bytes.len() {
                continue;
            }
            bytes.extend_from_slice(&payload[bytes.len() - rel..]);
            marks.push((bytes.len(), index));
        }
        if bytes.is_empty() {
            continue;
        }
        out.push(DirectedStream {
            stream: flow.stream,
            src: Some(flow.src),
            dst: Some(flow.dst),
            bytes,
            packet_marks: marks,
            gap,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ipv4_tcp(
        src: [u8; 4],
        sport: u16,
        dst: [u8; 4],
        dport: u16,
        seq: u32,
        payload: &[u8],
    ) -> Vec<u8> {
        let mut tcp = Vec::new();
        tcp.extend_from_slice(&sport.to_be_bytes());
        tcp.extend_from_slice(&dport.to_be_bytes());
        tcp.extend_from_slice(&seq.to_be_bytes());
        tcp.extend_from_slice(&0u32.to_be_bytes());
        tcp.extend_from_slice(&[0x50, 0x18, 0xff, 0xff, 0, 0, 0, 0]);
        tcp.extend_from_slice(payload);
        let mut ip = vec![0x45, 0, 0, 0, 0, 0, 0x40, 0, 64, 6, 0, 0];
        let total = (20 + tcp.len()) as u16;
        ip[2..4].copy_from_slice(&total.to_be_bytes());
        ip.extend_from_slice(&src);
        ip.extend_from_slice(&dst);
        ip.extend_from_slice(&tcp);
        ip
    }

    #[test]
    fn reorders_and_drops_retransmissions() {
        let a = [127, 0, 0, 2];
        let b = [127, 0, 0, 1];
        let segs = [
            ipv4_tcp(a, 40000, b, 102, 1000, b"hello "),
            ipv4_tcp(a, 40000, b, 102, 1012, b"!"),
            ipv4_tcp(a, 40000, b, 102, 1006, b"world "),
            ipv4_tcp(a, 40000, b, 102, 1006, b"world "),
            ipv4_tcp(b, 102, a, 40000, 5000, b"reply"),
        ];
        let mut flows = Vec::new();
        // Exercise the reassembly directly with raw-IP "packets".
        for s in &segs {
            flows.push(tcp_segment(s).map(|t| (t.seq, t.payload.to_vec())));
        }
        assert!(flows.iter().all(Option::is_some));
        // Build a pcap in memory with link type RAW (101).
        let mut file = Vec::new();
        file.extend_from_slice(&[0xd4, 0xc3, 0xb2, 0xa1, 2, 0, 4, 0]);
        file.extend_from_slice(&[0; 8]);
        file.extend_from_slice(&65535u32.to_le_bytes());
        file.extend_from_slice(&101u32.to_le_bytes());
        for s in &segs {
            file.extend_from_slice(&[0; 8]);
            file.extend_from_slice(&(s.len() as u32).to_le_bytes());
            file.extend_from_slice(&(s.len() as u32).to_le_bytes());
            file.extend_from_slice(s);
        }
        assert!(looks_like_capture(&file));
        let streams = read_capture(&file).expect("capture reads");
        assert_eq!(streams.len(), 2);
        assert_eq!(streams[0].bytes, b"hello world !");
        assert_eq!(streams[0].stream, 0);
        assert_eq!(streams[1].bytes, b"reply");
        assert_eq!(streams[1].stream, 0);
        assert_eq!(streams[0].packet_of(0), 0);
        assert_eq!(streams[0].packet_of(12), 1);
        assert_eq!(streams[1].packet_of(0), 4);
        assert!(!streams[0].gap);
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        assert!(read_capture(&[0xd4, 0xc3, 0xb2, 0xa1, 1]).is_err());
        assert!(read_capture(&[0x0a, 0x0d, 0x0d, 0x0a, 0, 0, 0]).is_err());
    }
}
