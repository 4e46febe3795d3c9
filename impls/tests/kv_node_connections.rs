//! Tiny connections must not exhaust a `kv-node`'s memory (issue 15, item 8): a real node
//! process on loopback, measured through `/proc/<pid>/status`.
//!
//! Set `KV_TEST_BIN_DIR` to a directory holding another `kv-node` binary to run these
//! tests against it (how they were shown to fail before the fix).

use impls::kv::wire::{self, FrameReader, Request, Response, MAX_FRAME_BYTES};
use impls::kv::{core::Consistency, ErrorCode};
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

fn node_bin() -> PathBuf {
    match std::env::var_os("KV_TEST_BIN_DIR") {
        Some(dir) => Path::new(&dir).join("kv-node"),
        None => PathBuf::from(env!("CARGO_BIN_EXE_kv-node")),
    }
}

/// One single-replica node on a free loopback port, killed when dropped.
struct Node {
    child: Child,
    addr: String,
    _dir: tempfile::TempDir,
}

impl Node {
    fn start(extra: &[&str]) -> Node {
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let addr = format!("127.0.0.1:{port}");
        let dir = tempfile::tempdir().unwrap();
        let child = Command::new(node_bin())
            .args(["--id", "1", "--rf", "1", "--quiet", "--peer"])
            .arg(format!("1={addr}"))
            .arg("--data")
            .arg(dir.path().join("n1"))
            .args(extra)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .spawn()
            .unwrap();
        let node = Node {
            child,
            addr,
            _dir: dir,
        };
        let deadline = Instant::now() + Duration::from_secs(10);
        while TcpStream::connect(&node.addr).is_err() {
            assert!(
                Instant::now() < deadline,
                "the node did not start listening"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        node
    }

    fn connect(&self) -> TcpStream {
        let s = TcpStream::connect(&self.addr).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        s
    }

    /// The node's resident memory, in bytes.
    fn rss_bytes(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).unwrap();
        let kb: u64 = status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .expect("VmRSS in /proc/<pid>/status");
        kb * 1024
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Sends request `id` on `s` and reads its response (blocking, with the stream's timeout).
fn call(s: &mut TcpStream, id: u64, request: &Request) -> Response {
    let mut buf = Vec::new();
    wire::encode_request(&mut buf, id, request);
    s.write_all(&buf).unwrap();
    read_response(s, id)
}

fn read_response(s: &mut TcpStream, id: u64) -> Response {
    let mut header = [0u8; 4];
    s.read_exact(&mut header).unwrap();
    let mut body = vec![0; u32::from_le_bytes(header) as usize];
    s.read_exact(&mut body).unwrap();
    let (got, response) = wire::decode_response(&body).unwrap();
    assert_eq!(got, id);
    response
}

/// Whether the node closes `s` within `within` (reading and discarding what it sends).
fn closed_within(s: &mut TcpStream, within: Duration) -> bool {
    s.set_read_timeout(Some(within)).unwrap();
    let start = Instant::now();
    let mut sink = [0u8; 4096];
    while start.elapsed() < within {
        match s.read(&mut sink) {
            Ok(0) => return true,
            Ok(_) => continue,
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => return true,
            Err(_) => return false,
        }
    }
    false
}

#[test]
fn connections_announcing_4_mib_frames_cost_little_and_a_get_still_succeeds() {
    let node = Node::start(&[]);
    let mut client = node.connect();
    let put = Request::Put {
        key: "k".into(),
        value: "v".into(),
        consistency: Consistency::One,
    };
    assert_eq!(call(&mut client, 1, &put), Response::Ok);
    std::thread::sleep(Duration::from_millis(300));
    let before = node.rss_bytes();

    // 300 connections, each a header announcing a 4 MiB frame and nothing more.
    let header = (MAX_FRAME_BYTES as u32).to_le_bytes();
    let mut flood: Vec<TcpStream> = (0..300)
        .filter_map(|_| TcpStream::connect(&node.addr).ok())
        .collect();
    for s in &mut flood {
        let _ = s.write_all(&header);
    }
    std::thread::sleep(Duration::from_millis(1000));
    let after = node.rss_bytes();
    let grown = after.saturating_sub(before);
    assert!(
        grown < 32 << 20,
        "300 announced 4 MiB frames grew the node's memory by {} MiB ({before} -> {after} bytes)",
        grown >> 20
    );

    // The node still serves the connection it already had.
    let get = Request::Get {
        key: "k".into(),
        consistency: Consistency::One,
    };
    assert_eq!(
        call(&mut client, 2, &get),
        Response::Value(Some("v".into()))
    );

    // A connection over the limit (256 by default) is told so, definitely, and closed.
    let mut over = node.connect();
    let mut buf = Vec::new();
    wire::encode_request(&mut buf, 7, &get);
    let _ = over.write_all(&buf);
    match read_response(&mut over, 0) {
        Response::Error(e) => {
            assert_eq!(e.code(), ErrorCode::TemporarilyUnavailable, "{e:?}");
            assert!(
                e.definite() && e.text().contains("--max-connections"),
                "{e:?}"
            );
        }
        other => panic!("expected a refusal over the connection limit, got {other:?}"),
    }
    drop(flood);
}

#[test]
fn an_idle_connection_is_closed_after_the_idle_timeout() {
    let node = Node::start(&["--idle-timeout-ms", "1000"]);
    let mut s = node.connect();
    assert!(matches!(
        call(&mut s, 1, &Request::Stats),
        Response::Stats(_)
    ));
    let start = Instant::now();
    assert!(
        closed_within(&mut s, Duration::from_secs(5)),
        "an idle connection was not closed"
    );
    assert!(
        start.elapsed() >= Duration::from_millis(900),
        "closed before the idle timeout"
    );

    // A busy connection is not idle.
    let mut busy = node.connect();
    for i in 0..6 {
        assert!(matches!(
            call(&mut busy, i, &Request::Stats),
            Response::Stats(_)
        ));
        std::thread::sleep(Duration::from_millis(400));
    }
}

#[test]
fn a_frame_that_does_not_arrive_in_time_closes_the_connection() {
    let node = Node::start(&["--frame-timeout-ms", "1000", "--idle-timeout-ms", "60000"]);
    let mut s = node.connect();
    assert!(matches!(
        call(&mut s, 1, &Request::Stats),
        Response::Stats(_)
    ));
    // Half a frame, then nothing: answered with a malformed-request error and closed.
    s.write_all(&[100, 0, 0, 0, 1, 2, 3]).unwrap();
    let start = Instant::now();
    let response = read_response(&mut s, 0);
    let Response::Error(e) = response else {
        panic!("expected an error, got {response:?}");
    };
    assert_eq!(e.code(), ErrorCode::MalformedRequest, "{e:?}");
    assert!(e.text().contains("1000 ms"), "{e:?}");
    assert!(start.elapsed() < Duration::from_secs(4));
    assert!(closed_within(&mut s, Duration::from_secs(2)));
    // And the reader that assembled it is an ordinary one.
    let _ = FrameReader::new(&[][..]);
}
