//! Direct pipelined connections to a standalone Redis server (plain TCP or TLS).
//!
//! The `redis` crate's client parses every reply into owned `redis::Value`s: one allocation
//! per bulk string, which made its parsing the reader's bottleneck (see
//! `docs/performance.md`). For the common case, a standalone server over `redis://` or
//! `rediss://` speaking RESP2, the reader keeps its own connections instead: commands are
//! encoded and replies decoded with the `redis-protocol` crate, whose frames point into the
//! read buffer (no copy, no allocation per value).
//!
//! The handshake is what the `redis` client would send for the same URL, minus its
//! optional `CLIENT SETINFO`: `AUTH [user] password` when a password is set, `SELECT db`
//! when the database is not 0. Nothing else is ever sent but the plan's read commands.
//! Cluster URLs, Unix sockets, RESP3 and `#insecure` TLS keep using the `redis` crate.

use bytes::BytesMut;
use redis::IntoConnectionInfo;
use redis_protocol::resp2::decode::decode_bytes_mut;
use redis_protocol::resp2::types::BytesFrame;
use std::sync::Arc;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

/// Where and how to connect.
#[derive(Clone)]
pub struct Target {
    host: String,
    port: u16,
    tls: Option<Arc<rustls::ClientConfig>>,
    username: Option<String>,
    password: Option<String>,
    db: i64,
}

impl std::fmt::Debug for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the password.
        write!(
            f,
            "Target({}:{}, tls: {}, db {})",
            self.host,
            self.port,
            self.tls.is_some(),
            self.db
        )
    }
}

impl Target {
    /// The direct target for `url` (the client URL, password already in), or `None` when
    /// the URL needs the `redis` crate's client (Unix socket, RESP3, insecure TLS).
    pub fn from_url(url: &str, ca_pem: Option<&[u8]>) -> Result<Option<Target>, String> {
        let info = url.into_connection_info().map_err(|e| e.to_string())?;
        let settings = info.redis_settings();
        if settings.protocol() != redis::ProtocolVersion::RESP2 {
            return Ok(None);
        }
        let (host, port, tls) = match info.addr() {
            redis::ConnectionAddr::Tcp(host, port) => (host.clone(), *port, None),
            redis::ConnectionAddr::TcpTls {
                host,
                port,
                insecure: false,
                ..
            } => (host.clone(), *port, Some(Arc::new(tls_config(ca_pem)?))),
            _ => return Ok(None),
        };
        Ok(Some(Target {
            host,
            port,
            tls,
            username: settings.username().map(str::to_string),
            password: settings.password().map(str::to_string),
            db: settings.db(),
        }))
    }
}

/// Trusted roots: the CA file's certificates when one is given, else the system's.
fn tls_config(ca_pem: Option<&[u8]>) -> Result<rustls::ClientConfig, String> {
    use rustls::pki_types::{pem::PemObject, CertificateDer};
    let mut roots = rustls::RootCertStore::empty();
    match ca_pem {
        Some(pem) => {
            for cert in CertificateDer::pem_slice_iter(pem) {
                let cert = cert.map_err(|e| format!("CA file: not a PEM certificate: {e}"))?;
                roots
                    .add(cert)
                    .map_err(|e| format!("CA file: unusable certificate: {e}"))?;
            }
        }
        None => {
            let found = rustls_native_certs::load_native_certs();
            if roots.add_parsable_certificates(found.certs).0 == 0 {
                if let Some(e) = found.errors.first() {
                    return Err(format!("system certificates: {e}"));
                }
            }
        }
    }
    Ok(rustls::ClientConfig::builder()
        .with_root_certificates(roots)
        .with_no_client_auth())
}

trait Io: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Io for T {}

/// Why a query failed: `Transient` errors (the connection broke, closed or timed out) are
/// retried on a new connection; `Fatal` ones (protocol errors) are not.
#[derive(Debug)]
pub enum WireError {
    Transient(String),
    Fatal(String),
}

/// One connection and its read buffer.
pub struct Wire {
    io: Box<dyn Io>,
    buf: BytesMut,
}

const READ_RESERVE: usize = 64 * 1024;

impl Wire {
    /// Connects and does the handshake (the caller bounds it with its timeout).
    pub async fn connect(t: &Target) -> Result<Wire, WireError> {
        let transient = |e: std::io::Error| WireError::Transient(e.to_string());
        let tcp = tokio::net::TcpStream::connect((t.host.as_str(), t.port))
            .await
            .map_err(transient)?;
        tcp.set_nodelay(true).map_err(transient)?;
        let io: Box<dyn Io> = match &t.tls {
            Some(cfg) => {
                let name = rustls::pki_types::ServerName::try_from(t.host.clone())
                    .map_err(|e| WireError::Fatal(format!("TLS server name: {e}")))?;
                let tls = tokio_rustls::TlsConnector::from(cfg.clone())
                    .connect(name, tcp)
                    .await
                    .map_err(|e| WireError::Fatal(format!("TLS: {e}")))?;
                Box::new(tls)
            }
            None => Box::new(tcp),
        };
        let mut wire = Wire {
            io,
            buf: BytesMut::with_capacity(READ_RESERVE),
        };
        let mut hello: Vec<Vec<&[u8]>> = Vec::new();
        if let Some(pw) = &t.password {
            let mut auth: Vec<&[u8]> = vec![b"AUTH"];
            if let Some(u) = &t.username {
                auth.push(u.as_bytes());
            }
            auth.push(pw.as_bytes());
            hello.push(auth);
        }
        let db = t.db.to_string();
        if t.db != 0 {
            hello.push(vec![b"SELECT", db.as_bytes()]);
        }
        if !hello.is_empty() {
            let mut packed = Vec::new();
            for c in &hello {
                pack(c, &mut packed);
            }
            for reply in wire.query(&packed, hello.len()).await? {
                if let BytesFrame::Error(e) = reply {
                    // The server's words (WRONGPASS, NOPERM, ...) never hold the password.
                    return Err(WireError::Fatal(e.to_string()));
                }
            }
        }
        Ok(wire)
    }

    /// Sends `packed` (`n` commands) and reads their `n` replies, in order.
    pub async fn query(&mut self, packed: &[u8], n: usize) -> Result<Vec<BytesFrame>, WireError> {
        let transient = |e: std::io::Error| WireError::Transient(e.to_string());
        self.io.write_all(packed).await.map_err(transient)?;
        self.io.flush().await.map_err(transient)?;
        let mut out = Vec::with_capacity(n);
        while out.len() < n {
            match decode_bytes_mut(&mut self.buf) {
                Ok(Some((frame, _, _))) => out.push(frame),
                Ok(None) => {
                    if self.buf.capacity() - self.buf.len() < READ_RESERVE / 4 {
                        self.buf.reserve(READ_RESERVE);
                    }
                    let read = self.io.read_buf(&mut self.buf).await.map_err(transient)?;
                    if read == 0 {
                        return Err(WireError::Transient(
                            "the server closed the connection".into(),
                        ));
                    }
                }
                Err(e) => return Err(WireError::Fatal(format!("protocol error: {e}"))),
            }
        }
        Ok(out)
    }
}

/// Appends a command's header to `out`: the RESP2 array of `args` bulk strings.
///
/// Encoding is a few lines (`*<n>\r\n`, then `$<len>\r\n<bytes>\r\n` per argument),
/// checked against the `redis` crate's own packing in the tests; written here so that the
/// field list shared by every `HMGET` of a read is encoded once ([`pack_args`]) and copied.
pub fn pack_header(args: usize, out: &mut Vec<u8>) {
    out.push(b'*');
    out.extend_from_slice(itoa::Buffer::new().format(args).as_bytes());
    out.extend_from_slice(b"\r\n");
}

/// Appends arguments (bulk strings) to `out`.
pub fn pack_args<A: AsRef<[u8]>>(args: &[A], out: &mut Vec<u8>) {
    let mut digits = itoa::Buffer::new();
    for a in args {
        let a = a.as_ref();
        out.push(b'$');
        out.extend_from_slice(digits.format(a.len()).as_bytes());
        out.extend_from_slice(b"\r\n");
        out.extend_from_slice(a);
        out.extend_from_slice(b"\r\n");
    }
}

/// Appends one whole command to `out`.
pub fn pack<A: AsRef<[u8]>>(args: &[A], out: &mut Vec<u8>) {
    pack_header(args.len(), out);
    pack_args(args, out);
}

/// A `redis::Value` (from the `redis` crate's client) as the frame the direct connections
/// read, so both paths decode the same way.
pub fn frame_of(v: redis::Value) -> BytesFrame {
    use redis::Value as V;
    match v {
        V::Nil => BytesFrame::Null,
        V::Int(i) => BytesFrame::Integer(i),
        V::BulkString(b) => BytesFrame::BulkString(b.into()),
        V::Array(items) => BytesFrame::Array(items.into_iter().map(frame_of).collect()),
        V::SimpleString(s) => BytesFrame::SimpleString(s.into_bytes().into()),
        V::Okay => BytesFrame::SimpleString("OK".into()),
        V::Double(f) => BytesFrame::BulkString(f.to_string().into_bytes().into()),
        V::Boolean(b) => BytesFrame::BulkString(b.to_string().into_bytes().into()),
        V::VerbatimString { text, .. } => BytesFrame::BulkString(text.into_bytes().into()),
        V::ServerError(e) => BytesFrame::Error(e.to_string().into()),
        other => BytesFrame::Error(format!("unexpected reply {other:?}").into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_encode_as_resp2_arrays_of_bulk_strings() {
        let mut out = Vec::new();
        pack(&[b"HMGET".as_slice(), b"user:1", b"f"], &mut out);
        assert_eq!(
            &out[..],
            b"*3\r\n$5\r\nHMGET\r\n$6\r\nuser:1\r\n$1\r\nf\r\n".as_slice()
        );
    }

    proptest::proptest! {
        /// Any command packs as the `redis` crate packs it, whole or header + shared args.
        #[test]
        fn packing_matches_the_redis_crate(
            args in proptest::collection::vec(proptest::collection::vec(proptest::num::u8::ANY, 0..40), 1..30),
            split in 0usize..30,
        ) {
            let mut cmd = redis::cmd("X");
            let mut all: Vec<&[u8]> = vec![b"X"];
            for a in &args {
                cmd.arg(a.as_slice());
                all.push(a);
            }
            let mut whole = Vec::new();
            pack(&all, &mut whole);
            proptest::prop_assert_eq!(&whole, &cmd.get_packed_command());
            let split = split.min(all.len());
            let mut parts = Vec::new();
            pack_header(all.len(), &mut parts);
            pack_args(&all[..split], &mut parts);
            pack_args(&all[split..], &mut parts);
            proptest::prop_assert_eq!(&parts, &whole);
        }
    }

    #[test]
    fn urls_that_need_the_redis_client_are_left_to_it() {
        let t = Target::from_url("redis://u:pw@127.0.0.1:7000/3", None)
            .expect("parse")
            .expect("direct");
        assert_eq!((t.port, t.db), (7000, 3));
        assert_eq!(t.username.as_deref(), Some("u"));
        assert!(!format!("{t:?}").contains("pw"));
        assert!(
            Target::from_url("redis://127.0.0.1:7000/?protocol=resp3", None)
                .expect("parse")
                .is_none()
        );
        assert!(Target::from_url("redis+unix:///tmp/r.sock", None)
            .expect("parse")
            .is_none());
        assert!(Target::from_url("rediss://127.0.0.1:7000/#insecure", None)
            .expect("parse")
            .is_none());
    }

    #[test]
    fn redis_values_map_to_frames() {
        use redis::Value as V;
        let f = frame_of(V::Array(vec![
            V::BulkString(b"1.5".to_vec()),
            V::Nil,
            V::Int(3),
        ]));
        assert_eq!(
            f,
            BytesFrame::Array(vec![
                BytesFrame::BulkString("1.5".into()),
                BytesFrame::Null,
                BytesFrame::Integer(3)
            ])
        );
    }
}
