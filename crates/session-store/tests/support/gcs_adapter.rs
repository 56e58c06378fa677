//! An adapter in front of fake-gcs-server for the one request it lacks.
//!
//! object_store writes objects with the GCS XML API (`PUT /bucket/object`,
//! preconditions in `x-goog-if-generation-match`). Upstream fake-gcs-server
//! does not implement that call (fsouza/fake-gcs-server#331; object_store's
//! own CI runs a fork for this reason). This adapter forwards every request
//! unchanged except those PUTs, which it turns into the equivalent JSON-API
//! multipart upload (`uploadType=multipart`, `ifGenerationMatch`), answered
//! with the XML API's `ETag` and `x-goog-generation` headers. The
//! precondition is still decided by the emulator; nothing is emulated here.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};

/// Starts the adapter on a free port in front of `upstream_port`; returns
/// its port. The accept thread lives as long as the test process.
pub fn start(upstream_port: u16) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for conn in listener.incoming().flatten() {
            std::thread::spawn(move || {
                let _ = handle(conn, upstream_port);
            });
        }
    });
    port
}

struct Request {
    method: String,
    target: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

fn read_request(conn: &TcpStream) -> std::io::Result<Option<Request>> {
    let mut reader = BufReader::new(conn);
    let mut line = String::new();
    if reader.read_line(&mut line)? == 0 {
        return Ok(None);
    }
    let mut parts = line.split_whitespace();
    let (method, target) = (
        parts.next().unwrap_or("").to_owned(),
        parts.next().unwrap_or("").to_owned(),
    );
    let mut headers = Vec::new();
    loop {
        let mut h = String::new();
        reader.read_line(&mut h)?;
        let h = h.trim_end();
        if h.is_empty() {
            break;
        }
        if let Some((k, v)) = h.split_once(':') {
            headers.push((k.trim().to_ascii_lowercase(), v.trim().to_owned()));
        }
    }
    let len: usize = headers
        .iter()
        .find(|(k, _)| k == "content-length")
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(0);
    let mut body = vec![0; len];
    reader.read_exact(&mut body)?;
    Ok(Some(Request {
        method,
        target,
        headers,
        body,
    }))
}

fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%'
            && i + 2 < b.len()
            && let Ok(v) = u8::from_str_radix(&s[i + 1..i + 3], 16)
        {
            out.push(v);
            i += 3;
            continue;
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8(out).unwrap()
}

fn roundtrip(upstream_port: u16, head: String, body: &[u8]) -> std::io::Result<Vec<u8>> {
    let mut up = TcpStream::connect(("127.0.0.1", upstream_port))?;
    up.write_all(head.as_bytes())?;
    up.write_all(body)?;
    let mut resp = Vec::new();
    up.read_to_end(&mut resp)?;
    Ok(resp)
}

fn split_response(resp: &[u8]) -> (u16, String, Vec<u8>) {
    // The emulator stopped mid-answer (an outage a test made): a gateway
    // error, as a proxy in front of it would give.
    let Some(end) = resp.windows(4).position(|w| w == b"\r\n\r\n") else {
        return (502, String::new(), Vec::new());
    };
    let head = String::from_utf8_lossy(&resp[..end]).to_string();
    let status: u16 = head.split_whitespace().nth(1).unwrap().parse().unwrap();
    let raw = &resp[end + 4..];
    let body = if head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        let mut out = Vec::new();
        let mut rest = raw;
        loop {
            let nl = rest.windows(2).position(|w| w == b"\r\n").unwrap();
            let size = usize::from_str_radix(std::str::from_utf8(&rest[..nl]).unwrap().trim(), 16)
                .unwrap();
            if size == 0 {
                break;
            }
            out.extend_from_slice(&rest[nl + 2..nl + 2 + size]);
            rest = &rest[nl + 2 + size + 2..];
        }
        out
    } else {
        raw.to_vec()
    };
    (status, head, body)
}

fn handle(mut conn: TcpStream, upstream_port: u16) -> std::io::Result<()> {
    let Some(req) = read_request(&conn)? else {
        return Ok(());
    };
    let path = req.target.split('?').next().unwrap_or("").to_owned();
    let is_xml_put = req.method == "PUT"
        && !path.starts_with("/upload/")
        && !path.starts_with("/storage/")
        && path.trim_start_matches('/').contains('/');
    if !is_xml_put {
        let mut head = format!("{} {} HTTP/1.1\r\n", req.method, req.target);
        for (k, v) in &req.headers {
            if k != "connection" && k != "host" {
                head.push_str(&format!("{k}: {v}\r\n"));
            }
        }
        head.push_str(&format!(
            "host: 127.0.0.1:{upstream_port}\r\nconnection: close\r\n\r\n"
        ));
        let resp = roundtrip(upstream_port, head, &req.body)?;
        return conn.write_all(&resp);
    }
    let (bucket, object) = path.trim_start_matches('/').split_once('/').unwrap();
    let (bucket, object) = (percent_decode(bucket), percent_decode(object));
    let mut query = "uploadType=multipart".to_owned();
    if let Some((_, g)) = req
        .headers
        .iter()
        .find(|(k, _)| k == "x-goog-if-generation-match")
    {
        query.push_str(&format!("&ifGenerationMatch={g}"));
    }
    let boundary = "keybench-adapter-boundary";
    let meta = serde_json::json!({ "name": object }).to_string();
    let mut body = Vec::new();
    body.extend_from_slice(format!("--{boundary}\r\nContent-Type: application/json; charset=UTF-8\r\n\r\n{meta}\r\n--{boundary}\r\nContent-Type: application/octet-stream\r\n\r\n").as_bytes());
    body.extend_from_slice(&req.body);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    let head = format!(
        "POST /upload/storage/v1/b/{bucket}/o?{query} HTTP/1.1\r\nhost: 127.0.0.1:{upstream_port}\r\ncontent-type: multipart/related; boundary={boundary}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
        body.len()
    );
    let resp = roundtrip(upstream_port, head, &body)?;
    let (status, _, rbody) = split_response(&resp);
    if status == 200 {
        let v: serde_json::Value = serde_json::from_slice(&rbody).unwrap();
        let etag = v["etag"].as_str().unwrap_or("etag").to_owned();
        let generation = v["generation"].as_str().unwrap_or("1").to_owned();
        conn.write_all(format!("HTTP/1.1 200 OK\r\nETag: \"{etag}\"\r\nx-goog-generation: {generation}\r\ncontent-length: 0\r\nconnection: close\r\n\r\n").as_bytes())
    } else {
        conn.write_all(
            format!(
                "HTTP/1.1 {status} Adapter\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
                rbody.len()
            )
            .as_bytes(),
        )?;
        conn.write_all(&rbody)
    }
}
