//! A minimal HTTP/1.1 client over hyper (one connection per request) for the CLI's admin calls, the
//! notification webhook and tests: `http://` and, with a rustls client configuration, `https://`.

use std::sync::Arc;

use bytes::Bytes;
use http_body_util::{BodyExt as _, Full};
use hyper::Request;
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

/// A failed request.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum HttpError {
    /// The URL is not `http://host[:port]/path` (or `https://` with TLS).
    #[error("unsupported URL: {0}")]
    Url(String),
    /// Connecting, TLS or the exchange failed.
    #[error("{0}")]
    Io(#[from] std::io::Error),
    /// HTTP failed.
    #[error("http: {0}")]
    Hyper(#[from] hyper::Error),
    /// A request could not be built.
    #[error("http: {0}")]
    Http(#[from] hyper::http::Error),
}

/// An answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpResponse {
    /// Status code.
    pub status: u16,
    /// Headers (lower-case names).
    pub headers: Vec<(String, String)>,
    /// Body.
    pub body: Vec<u8>,
}

impl HttpResponse {
    /// The first header named `name` (lower case).
    #[must_use]
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
    }
}

/// Splits `scheme://host[:port]/path` into (https?, host, port, path).
fn split_url(url: &str) -> Result<(bool, String, u16, String), HttpError> {
    let bad = || HttpError::Url(url.to_owned());
    let (tls, rest) = if let Some(r) = url.strip_prefix("http://") {
        (false, r)
    } else if let Some(r) = url.strip_prefix("https://") {
        (true, r)
    } else {
        return Err(bad());
    };
    let (authority, path) = rest.find('/').map_or((rest, "/"), |i| (&rest[..i], &rest[i..]));
    let (host, port) = match authority.rsplit_once(':') {
        Some((h, p)) if !h.ends_with(']') || h.starts_with('[') => (h, p.parse().map_err(|_| bad())?),
        _ => (authority, if tls { 443 } else { 80 }),
    };
    if host.is_empty() {
        return Err(bad());
    }
    Ok((tls, host.trim_start_matches('[').trim_end_matches(']').to_owned(), port, path.to_owned()))
}

/// Sends one request (`headers` as name/value pairs) and reads the whole answer.
///
/// # Errors
/// [`HttpError`].
pub async fn send(
    method: &str,
    url: &str,
    headers: &[(&str, &str)],
    body: Vec<u8>,
    tls: Option<Arc<rustls::ClientConfig>>,
) -> Result<HttpResponse, HttpError> {
    let (https, host, port, path) = split_url(url)?;
    let stream = TcpStream::connect((host.as_str(), port)).await?;
    let _ = stream.set_nodelay(true);
    let mut b = Request::builder().method(method).uri(path).header("host", format!("{host}:{port}"));
    for (n, v) in headers {
        b = b.header(*n, *v);
    }
    let req = b.body(Full::new(Bytes::from(body)))?;
    let resp = if https {
        let config = tls.ok_or_else(|| HttpError::Url(format!("{url}: https needs a TLS configuration")))?;
        let name = rustls_pki_types::ServerName::try_from(host.clone())
            .map_err(|_| HttpError::Url(url.to_owned()))?;
        let s = tokio_rustls::TlsConnector::from(config).connect(name, stream).await?;
        let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(s)).await?;
        tokio::spawn(conn);
        sender.send_request(req).await?
    } else {
        let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
        tokio::spawn(conn);
        sender.send_request(req).await?
    };
    let status = resp.status().as_u16();
    let headers = resp
        .headers()
        .iter()
        .filter_map(|(n, v)| v.to_str().ok().map(|v| (n.as_str().to_owned(), v.to_owned())))
        .collect();
    let body = resp.into_body().collect().await?.to_bytes().to_vec();
    Ok(HttpResponse { status, headers, body })
}

/// `method url` with an optional bearer token and a body of `content_type`; returns status and body.
///
/// # Errors
/// [`HttpError`].
pub async fn request(
    method: &str,
    url: &str,
    bearer: Option<&str>,
    content_type: &str,
    body: Vec<u8>,
) -> Result<(u16, Vec<u8>), HttpError> {
    let auth = bearer.map(|t| format!("Bearer {t}"));
    let mut h = vec![("content-type", content_type)];
    if let Some(a) = &auth {
        h.push(("authorization", a.as_str()));
    }
    let r = send(method, url, &h, body, None).await?;
    Ok((r.status, r.body))
}

/// A rustls client configuration (ring provider) trusting exactly the certificates in `pem`.
///
/// # Errors
/// The PEM holds no usable certificate.
pub fn client_config_trusting(pem: &str) -> Result<Arc<rustls::ClientConfig>, &'static str> {
    use rustls_pki_types::CertificateDer;
    use rustls_pki_types::pem::PemObject as _;
    let mut roots = rustls::RootCertStore::empty();
    for c in CertificateDer::pem_slice_iter(pem.as_bytes()) {
        roots.add(c.map_err(|_| "malformed certificate PEM")?).map_err(|_| "unusable certificate")?;
    }
    if roots.is_empty() {
        return Err("no certificate");
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|_| "protocol versions")?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(Arc::new(config))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_split() {
        assert_eq!(
            split_url("http://127.0.0.1:80/dm").unwrap(),
            (false, "127.0.0.1".into(), 80, "/dm".into())
        );
        assert_eq!(
            split_url("https://localhost/x/y").unwrap(),
            (true, "localhost".into(), 443, "/x/y".into())
        );
        assert_eq!(split_url("http://[::1]:8080").unwrap(), (false, "::1".into(), 8080, "/".into()));
        assert!(split_url("ftp://x").is_err());
        assert!(split_url("http://:80/").is_err());
        assert!(split_url("http://h:port/").is_err());
    }
}
