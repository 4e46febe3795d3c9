//! The least HTTP/1.1 client etcd's JSON gateway needs: one keep-alive connection, one
//! request at a time, `POST` with a JSON body and `GET`, answers framed by
//! `Content-Length` or chunked. Written here rather than adding hyper (not in the lock
//! file) for four requests a benchmark sends; it parses only what it must and refuses
//! the rest with an error naming what it got.

use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::TcpStream;

/// The longest header line or body this client accepts.
const MAX_BYTES: usize = 1 << 20;

/// A keep-alive connection to one `host:port`, reopened after an error or a
/// `Connection: close`.
pub struct HttpClient {
    addr: String,
    timeout: Duration,
    conn: Option<(BufReader<OwnedReadHalf>, OwnedWriteHalf)>,
}

/// An answer: its status code and body.
#[derive(Debug, PartialEq, Eq)]
pub struct Response {
    /// The status code.
    pub status: u16,
    /// The body, as sent.
    pub body: Vec<u8>,
}

impl HttpClient {
    /// A client of `addr` (`host:port`); it connects on its first request. Every request,
    /// connecting included, fails after `timeout`.
    pub fn new(addr: impl Into<String>, timeout: Duration) -> HttpClient {
        HttpClient {
            addr: addr.into(),
            timeout,
            conn: None,
        }
    }

    /// `POST path` with `body` as `application/json`.
    pub async fn post_json(&mut self, path: &str, body: &str) -> Result<Response, String> {
        self.request("POST", path, body).await
    }

    /// `GET path`.
    pub async fn get(&mut self, path: &str) -> Result<Response, String> {
        self.request("GET", path, "").await
    }

    async fn request(&mut self, method: &str, path: &str, body: &str) -> Result<Response, String> {
        let timeout = self.timeout;
        let exchange = self.exchange(method, path, body);
        match tokio::time::timeout(timeout, exchange).await {
            Ok(Ok(response)) => Ok(response),
            Ok(Err(e)) => {
                self.conn = None;
                Err(format!("{method} http://{}{path}: {e}", self.addr))
            }
            Err(_) => {
                // A late answer must not be read as the next request's.
                self.conn = None;
                Err(format!(
                    "{method} http://{}{path}: no answer within {} ms",
                    self.addr,
                    self.timeout.as_millis()
                ))
            }
        }
    }

    async fn exchange(&mut self, method: &str, path: &str, body: &str) -> Result<Response, String> {
        if self.conn.is_none() {
            let stream = TcpStream::connect(&self.addr)
                .await
                .map_err(|e| format!("cannot connect: {e}"))?;
            let _ = stream.set_nodelay(true);
            let (r, w) = stream.into_split();
            self.conn = Some((BufReader::new(r), w));
        }
        let (reader, writer) = self.conn.as_mut().expect("connected above");
        let request = format!(
            "{method} {path} HTTP/1.1\r\nHost: {}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
            self.addr,
            body.len()
        );
        writer
            .write_all(request.as_bytes())
            .await
            .map_err(|e| format!("cannot send: {e}"))?;
        let (response, keep) = read_response(reader).await?;
        if !keep {
            self.conn = None;
        }
        Ok(response)
    }
}

/// One line up to `\r\n` (or `\n`), without it; an error at the end of the stream or
/// past [`MAX_BYTES`].
async fn read_line<R: AsyncBufReadExt + Unpin>(r: &mut R) -> Result<String, String> {
    let mut line = Vec::new();
    (&mut *r)
        .take(MAX_BYTES as u64)
        .read_until(b'\n', &mut line)
        .await
        .map_err(|e| format!("cannot read the answer: {e}"))?;
    if line.pop() != Some(b'\n') {
        return Err("the connection ended inside the answer's head".to_string());
    }
    if line.last() == Some(&b'\r') {
        line.pop();
    }
    String::from_utf8(line).map_err(|_| "a header line is not UTF-8".to_string())
}

/// Reads one response: its status, body and whether the connection stays open.
async fn read_response<R: AsyncBufReadExt + Unpin>(r: &mut R) -> Result<(Response, bool), String> {
    let status_line = read_line(r).await?;
    let status = parse_status_line(&status_line)?;
    let mut length: Option<usize> = None;
    let mut chunked = false;
    let mut keep = true;
    loop {
        let line = read_line(r).await?;
        if line.is_empty() {
            break;
        }
        let (name, value) = line
            .split_once(':')
            .ok_or_else(|| format!("a header line without a colon: {line:?}"))?;
        let value = value.trim();
        match name.trim().to_ascii_lowercase().as_str() {
            "content-length" => {
                let n: usize = value
                    .parse()
                    .map_err(|_| format!("Content-Length is not a number: {value:?}"))?;
                if n > MAX_BYTES {
                    return Err(format!("a body of {n} bytes is larger than {MAX_BYTES}"));
                }
                length = Some(n);
            }
            "transfer-encoding" => chunked = value.eq_ignore_ascii_case("chunked"),
            "connection" => keep = !value.eq_ignore_ascii_case("close"),
            _ => {}
        }
    }
    let body = if chunked {
        read_chunked(r).await?
    } else if let Some(n) = length {
        let mut body = vec![0; n];
        r.read_exact(&mut body)
            .await
            .map_err(|e| format!("the body ended before its {n} bytes: {e}"))?;
        body
    } else {
        // Framed by the end of the connection (HTTP/1.0 style): read it all, then reopen.
        let mut body = Vec::new();
        (&mut *r)
            .take(MAX_BYTES as u64)
            .read_to_end(&mut body)
            .await
            .map_err(|e| format!("cannot read the body: {e}"))?;
        keep = false;
        body
    };
    Ok((Response { status, body }, keep))
}

/// `HTTP/1.1 200 OK` -> 200.
fn parse_status_line(line: &str) -> Result<u16, String> {
    let mut words = line.split(' ');
    let version = words.next().unwrap_or("");
    let code = words.next().unwrap_or("");
    if !version.starts_with("HTTP/1.") {
        return Err(format!("not an HTTP/1.x status line: {line:?}"));
    }
    code.parse()
        .ok()
        .filter(|c| (100..600).contains(c))
        .ok_or_else(|| format!("no status code in {line:?}"))
}

/// A chunked body (RFC 9112 §7.1), extensions and trailers ignored.
async fn read_chunked<R: AsyncBufReadExt + Unpin>(r: &mut R) -> Result<Vec<u8>, String> {
    let mut body = Vec::new();
    loop {
        let line = read_line(r).await?;
        let size = line.split(';').next().unwrap_or("").trim();
        let size = usize::from_str_radix(size, 16)
            .map_err(|_| format!("a chunk size is not hexadecimal: {line:?}"))?;
        if size == 0 {
            // Trailers, up to the empty line.
            while !read_line(r).await?.is_empty() {}
            return Ok(body);
        }
        if body.len() + size > MAX_BYTES {
            return Err(format!("a chunked body longer than {MAX_BYTES} bytes"));
        }
        let start = body.len();
        body.resize(start + size, 0);
        r.read_exact(&mut body[start..])
            .await
            .map_err(|e| format!("a chunk ended early: {e}"))?;
        if !read_line(r).await?.is_empty() {
            return Err("a chunk is not followed by CRLF".to_string());
        }
    }
}

/// Standard base64 with padding (RFC 4648 §4), as protobuf's JSON mapping writes bytes.
pub fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [chunk[0], *chunk.get(1).unwrap_or(&0), *chunk.get(2).unwrap_or(&0)];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[(n >> (18 - 6 * i)) as usize & 63] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(bytes: &[u8]) -> Result<(Response, bool), String> {
        let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
        rt.block_on(read_response(&mut BufReader::new(bytes)))
    }

    #[test]
    fn base64_matches_rfc_4648s_test_vectors() {
        let cases = [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ];
        for (plain, encoded) in cases {
            assert_eq!(base64(plain.as_bytes()), encoded, "{plain:?}");
        }
        assert_eq!(base64(&[0xff, 0xfe, 0x3e]), "//4+");
    }

    #[test]
    fn a_content_length_response_keeps_the_connection() {
        let (r, keep) = parse(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}extra").unwrap();
        assert_eq!(r, Response { status: 200, body: b"{}".to_vec() });
        assert!(keep);
    }

    #[test]
    fn a_chunked_response_is_joined_and_connection_close_is_heard() {
        let (r, keep) = parse(b"HTTP/1.1 503 Service Unavailable\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n3\r\nabc\r\n2;x=y\r\nde\r\n0\r\n\r\n").unwrap();
        assert_eq!(r.status, 503);
        assert_eq!(r.body, b"abcde");
        assert!(!keep);
    }

    #[test]
    fn hostile_answers_are_errors_naming_what_is_wrong() {
        let err = |b: &[u8]| parse(b).unwrap_err();
        assert!(err(b"SSH-2.0-OpenSSH\r\n\r\n").contains("not an HTTP/1.x"));
        assert!(err(b"HTTP/1.1 abc OK\r\n\r\n").contains("no status code"));
        assert!(err(b"HTTP/1.1 200 OK\r\nContent-Length: lots\r\n\r\n").contains("not a number"));
        assert!(err(b"HTTP/1.1 200 OK\r\nContent-Length: 99999999999\r\n\r\n").contains("larger than"));
        assert!(err(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc").contains("ended before"));
        assert!(err(b"HTTP/1.1 200 OK\r\nno colon here\r\n\r\n").contains("without a colon"));
        assert!(err(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n").contains("hexadecimal"));
        assert!(err(b"HTTP/1.1 200 OK\r\nContent-Le").contains("ended inside"));
    }

    #[test]
    fn a_body_without_framing_ends_with_the_connection() {
        let (r, keep) = parse(b"HTTP/1.0 200 OK\r\n\r\nall of it").unwrap();
        assert_eq!(r.body, b"all of it");
        assert!(!keep);
    }
}
