//! The client side of the node's JSON-RPC, shared by the commands that talk to a running node
//! (`joule explorer`, `joule bid`): connect over HTTP, call a method with positional params, and
//! say plainly when the node cannot be reached.

use std::time::Duration;

use anyhow::{Context, anyhow};
use jsonrpsee::core::ClientError;
use jsonrpsee::core::client::ClientT;
use jsonrpsee::core::params::ArrayParams;
use jsonrpsee_http_client::{HttpClient, HttpClientBuilder};
use serde::de::DeserializeOwned;
use serde_json::Value;

/// How long one call may take.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// An HTTP client for the node at `url`.
pub fn connect(url: &str) -> anyhow::Result<HttpClient> {
    HttpClientBuilder::default()
        .request_timeout(REQUEST_TIMEOUT)
        .build(url)
        .with_context(|| format!("RPC address {url}"))
}

/// Positional params from JSON values.
pub fn params(values: Vec<Value>) -> ArrayParams {
    let mut p = ArrayParams::new();
    for v in values {
        p.insert(v).expect("serde_json values serialize; qed");
    }
    p
}

/// Calls `method` and decodes its result as `T`. A node that does not answer is reported as
/// such, a refusal with the node's own message.
pub async fn request<T: DeserializeOwned>(
    client: &HttpClient,
    method: &str,
    args: Vec<Value>,
) -> anyhow::Result<T> {
    client
        .request(method, params(args))
        .await
        .map_err(|e| match e {
            // The node's own message says what was wrong ("bid rejected: …").
            ClientError::Call(e) => anyhow!("{}", e.message()),
            ClientError::Transport(e) => anyhow!("cannot reach the node: {}", causes(&*e)),
            ClientError::RequestTimeout => {
                anyhow!("the node did not answer in {REQUEST_TIMEOUT:?}")
            }
            other => anyhow!(other),
        })
        .with_context(|| format!("calling {method}"))
}

/// An error and its sources on one line (transport errors hide the useful part, such as
/// "connection refused", in their sources).
fn causes(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(s) = source {
        let part = s.to_string();
        if !text.contains(&part) {
            text.push_str(": ");
            text.push_str(&part);
        }
        source = s.source();
    }
    text
}

/// Calls `method` and returns its result as JSON.
pub async fn call(client: &HttpClient, method: &str, args: Vec<Value>) -> anyhow::Result<Value> {
    request(client, method, args).await
}
