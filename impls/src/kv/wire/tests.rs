//! Round trips for every frame kind, and robustness of the decoders against arbitrary and
//! truncated input.

use super::*;
use proptest::prelude::*;

fn versioned(counter: u64, value: &str) -> Versioned<String> {
    Versioned {
        version: Version {
            counter,
            node: 3,
            incarnation: 2,
        },
        value: value.into(),
    }
}

fn peer_frames() -> Vec<PeerFrame> {
    let members = BTreeMap::from([(1, "127.0.0.1:7001".into()), (2, "n2:7000".into())]);
    vec![
        PeerFrame::Hello {
            from: 7,
            protocol: PROTOCOL_VERSION,
        },
        PeerFrame::Membership(Membership {
            epoch: 4,
            origin: 2,
            members,
        }),
        PeerFrame::Core(Msg::Read {
            op: 1 << 40,
            key: "k".into(),
        }),
        PeerFrame::Core(Msg::ReadReply {
            op: 9,
            current: None,
        }),
        PeerFrame::Core(Msg::ReadReply {
            op: 9,
            current: Some(versioned(5, "v")),
        }),
        PeerFrame::Core(Msg::Write {
            op: 2,
            key: "ключ".into(),
            value: versioned(u64::MAX, ""),
            hint_for: Some(0),
        }),
        PeerFrame::Core(Msg::WriteAck {
            op: 2,
            hint_for: None,
        }),
        PeerFrame::HintWrite {
            key: "k".into(),
            value: versioned(1, "x"),
        },
        PeerFrame::HintAck {
            key: "k".into(),
            version: versioned(1, "").version,
        },
        PeerFrame::Ping,
        PeerFrame::Pong,
    ]
}

fn requests() -> Vec<Request> {
    vec![
        Request::Put {
            key: "k".into(),
            value: "v".into(),
            consistency: Consistency::Quorum,
        },
        Request::Get {
            key: "k".into(),
            consistency: Consistency::All,
        },
        Request::Stats,
        Request::Members,
        Request::Inspect { key: "k".into() },
        Request::Admin(Admin::AddNode {
            node: 6,
            addr: "127.0.0.1:7006".into(),
        }),
        Request::Admin(Admin::RemoveNode { node: 2 }),
    ]
}

fn responses() -> Vec<Response> {
    vec![
        Response::Ok,
        Response::Value(None),
        Response::Value(Some("v".into())),
        Response::Error(KvError::new(ErrorCode::Timeout, "slow", false)),
        Response::Stats(Stats {
            node: 1,
            puts: 10,
            torn_bytes: 3,
            ..Stats::default()
        }),
        Response::Members(Membership::initial(BTreeMap::from([(1, "a:1".into())]))),
        Response::Local(Some(versioned(8, "w"))),
    ]
}

/// Strips the frame header, checking it matches the body.
fn body(buf: &[u8]) -> &[u8] {
    let len = u32::from_le_bytes(buf[..4].try_into().unwrap()) as usize;
    assert_eq!(len, buf.len() - 4);
    &buf[4..]
}

#[test]
fn every_peer_frame_round_trips() {
    for frame in peer_frames() {
        let mut buf = Vec::new();
        encode_peer(&mut buf, &frame);
        assert_eq!(decode_peer(body(&buf)).unwrap(), frame);
        assert_eq!(
            is_hello(body(&buf)),
            matches!(frame, PeerFrame::Hello { .. })
        );
    }
}

#[test]
fn every_request_and_response_round_trips() {
    for (i, request) in requests().into_iter().enumerate() {
        let mut buf = Vec::new();
        encode_request(&mut buf, i as u64, &request);
        assert_eq!(decode_request(body(&buf)).unwrap(), (i as u64, request));
    }
    for (i, response) in responses().into_iter().enumerate() {
        let mut buf = Vec::new();
        encode_response(&mut buf, i as u64 + 100, &response);
        assert_eq!(
            decode_response(body(&buf)).unwrap(),
            (i as u64 + 100, response)
        );
    }
}

#[test]
fn a_write_ack_is_small() {
    let mut buf = Vec::new();
    encode_peer(
        &mut buf,
        &PeerFrame::Core(Msg::WriteAck {
            op: 1000,
            hint_for: None,
        }),
    );
    assert_eq!(buf.len(), 4 + 1 + 2 + 1);
}

#[test]
fn every_truncation_and_any_trailing_byte_is_rejected() {
    let mut frames: Vec<Vec<u8>> = Vec::new();
    for f in peer_frames() {
        let mut buf = Vec::new();
        encode_peer(&mut buf, &f);
        frames.push(buf[4..].to_vec());
    }
    for f in &frames {
        for cut in 0..f.len() {
            assert!(decode_peer(&f[..cut]).is_err(), "{f:?} cut at {cut}");
        }
        let mut longer = f.clone();
        longer.push(0);
        assert!(decode_peer(&longer).is_err());
    }
}

#[test]
fn a_malformed_request_still_reports_its_id() {
    let mut buf = Vec::new();
    encode_request(&mut buf, 42, &Request::Stats);
    let mut bad = buf[4..].to_vec();
    *bad.last_mut().unwrap() = 99; // not a request kind
    let (id, err) = decode_request(&bad).unwrap_err();
    assert_eq!(id, 42);
    assert!(err.to_string().contains("99 is not a request kind"));
}

#[test]
fn long_error_texts_are_cut_on_a_character_boundary() {
    let text = "é".repeat(MAX_TEXT_BYTES);
    let mut buf = Vec::new();
    let err = KvError::new(ErrorCode::Crash, text, false);
    encode_response(&mut buf, 1, &Response::Error(err));
    let (_, Response::Error(back)) = decode_response(body(&buf)).unwrap() else {
        panic!("an error");
    };
    assert_eq!(back.text().len(), MAX_TEXT_BYTES);
}

proptest! {
    #[test]
    fn decoders_never_panic_on_arbitrary_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
        let _ = decode_peer(&bytes);
        let _ = decode_request(&bytes);
        let _ = decode_response(&bytes);
    }

    #[test]
    fn decoders_never_panic_on_mutated_frames(
        which in 0usize..11,
        flips in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..4),
    ) {
        let mut buf = Vec::new();
        encode_peer(&mut buf, &peer_frames()[which]);
        let mut body = buf[4..].to_vec();
        for (at, byte) in flips {
            let i = at.index(body.len());
            body[i] = byte;
        }
        let _ = decode_peer(&body);
    }
}
