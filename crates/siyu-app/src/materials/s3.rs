//! An S3-compatible [`BlobStore`]: path-style requests (`<endpoint>/<bucket>/<key>`) signed with AWS
//! Signature Version 4 (HMAC-SHA256 over the canonical request), so it works with AWS S3, MinIO, Ceph and the
//! S3 endpoints of Chinese clouds alike.

use std::time::Duration;

use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use reqwest::{Method, StatusCode, Url};
use secrecy::{ExposeSecret, SecretString};
use sha2::{Digest, Sha256};

use super::blobs::{BlobFuture, BlobKey, BlobStore};
use crate::error::{AppError, AppResult};
use crate::settings::S3Settings;

const EMPTY_SHA256: &str = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

/// What a request is signed with.
#[derive(Clone)]
pub struct Credentials {
    pub access_key: String,
    pub secret_key: SecretString,
    pub region: String,
    pub service: String,
}

/// A request to sign: the canonical parts, headers already lowercase-named.
pub struct ToSign<'a> {
    pub method: &'a str,
    /// The URI-encoded path, e.g. `/bucket/key`.
    pub path: &'a str,
    /// The canonical query string (sorted, encoded), empty when none.
    pub query: &'a str,
    /// Headers to sign (name lowercase, value trimmed); `host` and `x-amz-date` among them.
    pub headers: Vec<(String, String)>,
    pub payload_sha256: &'a str,
    pub at: DateTime<Utc>,
}

fn hmac(key: &[u8], data: &str) -> Vec<u8> {
    // HMAC accepts keys of any length: this cannot fail.
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(key).unwrap_or_else(|_| unreachable!());
    mac.update(data.as_bytes());
    mac.finalize().into_bytes().to_vec()
}

/// The `Authorization` header value of SigV4.
pub fn authorization(c: &Credentials, r: &ToSign<'_>) -> String {
    let mut headers = r.headers.clone();
    headers.sort();
    let canonical_headers: String = headers.iter().map(|(k, v)| format!("{k}:{}\n", v.trim())).collect();
    let signed: Vec<&str> = headers.iter().map(|(k, _)| k.as_str()).collect();
    let signed = signed.join(";");
    let canonical =
        format!("{}\n{}\n{}\n{canonical_headers}\n{signed}\n{}", r.method, r.path, r.query, r.payload_sha256);
    let date = r.at.format("%Y%m%d").to_string();
    let amz_date = r.at.format("%Y%m%dT%H%M%SZ").to_string();
    let scope = format!("{date}/{}/{}/aws4_request", c.region, c.service);
    let to_sign = format!("AWS4-HMAC-SHA256\n{amz_date}\n{scope}\n{}", hex::encode(Sha256::digest(canonical)));
    let k_date = hmac(format!("AWS4{}", c.secret_key.expose_secret()).as_bytes(), &date);
    let k_region = hmac(&k_date, &c.region);
    let k_service = hmac(&k_region, &c.service);
    let k_signing = hmac(&k_service, "aws4_request");
    let signature = hex::encode(hmac(&k_signing, &to_sign));
    format!("AWS4-HMAC-SHA256 Credential={}/{scope}, SignedHeaders={signed}, Signature={signature}", c.access_key)
}

/// Blobs as objects of one bucket.
pub struct S3Blobs {
    client: reqwest::Client,
    endpoint: Url,
    bucket: String,
    creds: Credentials,
}

impl S3Blobs {
    pub fn new(s: &S3Settings) -> anyhow::Result<Self> {
        let endpoint = Url::parse(s.endpoint.trim_end_matches('/'))?;
        anyhow::ensure!(endpoint.host_str().is_some(), "storage.s3.endpoint needs a host");
        anyhow::ensure!(
            !s.bucket.is_empty() && s.bucket.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.'),
            "storage.s3.bucket must be a plain bucket name"
        );
        let client = reqwest::Client::builder().timeout(Duration::from_secs(s.timeout_secs.max(1))).build()?;
        Ok(Self {
            client,
            endpoint,
            bucket: s.bucket.clone(),
            creds: Credentials {
                access_key: s.access_key.clone(),
                secret_key: s.secret_key.clone(),
                region: s.region.clone(),
                service: "s3".into(),
            },
        })
    }

    fn host(&self) -> String {
        let host = self.endpoint.host_str().unwrap_or_default();
        match self.endpoint.port() {
            Some(port) => format!("{host}:{port}"),
            None => host.to_string(),
        }
    }

    /// Sends a signed request for `key` (`None`: the bucket itself).
    async fn send(&self, method: Method, key: Option<&BlobKey>, body: Option<&[u8]>) -> AppResult<reqwest::Response> {
        let base = self.endpoint.path().trim_end_matches('/');
        let path = match key {
            Some(k) => format!("{base}/{}/{}", self.bucket, k.as_str()),
            None => format!("{base}/{}", self.bucket),
        };
        let payload = body.map(|b| hex::encode(Sha256::digest(b))).unwrap_or_else(|| EMPTY_SHA256.to_string());
        let at = Utc::now();
        let amz_date = at.format("%Y%m%dT%H%M%SZ").to_string();
        let headers = vec![
            ("host".to_string(), self.host()),
            ("x-amz-content-sha256".to_string(), payload.clone()),
            ("x-amz-date".to_string(), amz_date.clone()),
        ];
        let auth = authorization(
            &self.creds,
            &ToSign { method: method.as_str(), path: &path, query: "", headers, payload_sha256: &payload, at },
        );
        let mut url = self.endpoint.clone();
        url.set_path(&path);
        let mut req = self
            .client
            .request(method, url)
            .header("x-amz-content-sha256", payload)
            .header("x-amz-date", amz_date)
            .header("authorization", auth);
        if let Some(b) = body {
            req = req.body(b.to_vec());
        }
        req.send().await.map_err(|e| AppError::internal(anyhow::Error::new(e).context("s3 request")))
    }

    /// Creates the bucket (tests and first setup); an existing bucket is fine.
    pub async fn ensure_bucket(&self) -> AppResult<()> {
        let res = self.send(Method::PUT, None, None).await?;
        if res.status().is_success() || res.status() == StatusCode::CONFLICT {
            Ok(())
        } else {
            Err(failure("create bucket", res).await)
        }
    }
}

async fn failure(what: &str, res: reqwest::Response) -> AppError {
    let status = res.status();
    let body = res.text().await.unwrap_or_default();
    let body: String = body.chars().take(300).collect();
    AppError::internal(anyhow::anyhow!("s3 {what}: {status} {body}"))
}

impl BlobStore for S3Blobs {
    fn put<'a>(&'a self, key: &'a BlobKey, bytes: &'a [u8]) -> BlobFuture<'a, ()> {
        Box::pin(async move {
            let res = self.send(Method::PUT, Some(key), Some(bytes)).await?;
            if res.status().is_success() { Ok(()) } else { Err(failure("put", res).await) }
        })
    }

    fn get<'a>(&'a self, key: &'a BlobKey) -> BlobFuture<'a, Vec<u8>> {
        Box::pin(async move {
            let res = self.send(Method::GET, Some(key), None).await?;
            match res.status() {
                s if s.is_success() => Ok(res.bytes().await.map_err(AppError::internal)?.to_vec()),
                StatusCode::NOT_FOUND => Err(AppError::NotFound),
                _ => Err(failure("get", res).await),
            }
        })
    }

    fn delete<'a>(&'a self, key: &'a BlobKey) -> BlobFuture<'a, ()> {
        Box::pin(async move {
            let res = self.send(Method::DELETE, Some(key), None).await?;
            if res.status().is_success() || res.status() == StatusCode::NOT_FOUND {
                Ok(())
            } else {
                Err(failure("delete", res).await)
            }
        })
    }

    fn exists<'a>(&'a self, key: &'a BlobKey) -> BlobFuture<'a, bool> {
        Box::pin(async move {
            let res = self.send(Method::HEAD, Some(key), None).await?;
            match res.status() {
                s if s.is_success() => Ok(true),
                StatusCode::NOT_FOUND => Ok(false),
                _ => Err(failure("head", res).await),
            }
        })
    }

    fn describe(&self) -> String {
        format!("s3 {}/{}", self.endpoint, self.bucket)
    }
}

#[cfg(test)]
mod tests;
