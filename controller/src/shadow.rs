//! Shadow mode: the controller watches a live cluster (where Karpenter or Cluster Autoscaler
//! runs) and writes nothing. The client itself refuses every request but reads, so no code
//! path can write by mistake; the manifests give it a read-only ClusterRole as well. What it
//! would do is in `/plan`, `/metrics` and a periodic log line.

use kube::client::{Body, ClientBuilder};
use kube::Client;

/// Only these methods reach the API server in shadow mode.
fn is_read(method: &http::Method) -> bool {
    matches!(*method, http::Method::GET | http::Method::HEAD | http::Method::OPTIONS)
}

/// The error a shadow client gives for a write.
#[derive(Debug, thiserror::Error)]
#[error("shadow mode: {method} {path} refused (this controller only reads)")]
pub struct WriteRefused {
    pub method: String,
    pub path: String,
}

/// A client for `config` that refuses every write before it leaves the process.
pub fn read_only_client(mut config: kube::Config) -> Result<Client, kube::Error> {
    config.default_retry = false;
    let filter = tower::filter::FilterLayer::new(|request: http::Request<Body>| {
        if is_read(request.method()) {
            Ok(request)
        } else {
            Err(WriteRefused { method: request.method().to_string(), path: request.uri().path().to_string() })
        }
    });
    Ok(ClientBuilder::try_from(config)?.with_layer(&filter).build())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_reads_pass() {
        assert!(is_read(&http::Method::GET));
        for write in [http::Method::POST, http::Method::PUT, http::Method::PATCH, http::Method::DELETE] {
            assert!(!is_read(&write), "{write}");
        }
    }
}
