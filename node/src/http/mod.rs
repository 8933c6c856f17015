//! The operators' HTTP port: `/livez` and `/readyz` for probes, `/metrics` for
//! Prometheus, `/status` for people and tools (`docs/operations.md`).
//!
//! Served by axum on hyper, HTTP/1.1, through our own accept loop so the port keeps the
//! rules of the other two: a slot per connection out of a bounded number, a share per
//! remote address, TLS when TLS is configured, a deadline for the request head, and the
//! protected default (a node without credentials listens on loopback only, checked with
//! the other addresses at start). Who may ask what, when the node has API keys:
//!
//! | path | credentials |
//! | --- | --- |
//! | `/livez`, `/readyz` | none (probes carry none; they reveal only check names) |
//! | `/metrics` | `Authorization: Bearer KEY`, any role (`metrics` is the least) |
//! | `/status`, `/cluster` | a key of role `read-only` or more, without prefixes (they show the whole node, the whole cluster) |
//! | `/`, `/app.js`, `/app.css` | anyone: the status page itself holds no data; it asks for a key when `/cluster` wants one |

pub mod cluster;
pub mod page;
pub mod status;

use crate::auth::Auth;
use crate::ctx::NodeCtx;
use axum::Router;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use std::collections::HashMap;
use std::sync::{Arc, OnceLock};
use std::time::Duration;
use strata_api::access::{Access, Role};

/// Most connections the port holds at once.
pub const MAX_CONNECTIONS: usize = 256;
/// Of those, most from one remote address.
pub const MAX_PER_ADDRESS: usize = 32;
/// How long a request's head may take to arrive.
pub const HEAD_TIMEOUT: Duration = Duration::from_secs(10);

/// What the handlers share.
pub struct HttpState {
    /// The node's database (the storage probe writes to it).
    pub db: sled::Db,
    /// Its credentials.
    pub auth: Auth,
    /// The running node, once it is one (a standby node has none yet).
    pub ctx: OnceLock<Arc<NodeCtx>>,
    /// Each member's last state on `/cluster` (up or not) and since when.
    pub seen: std::sync::Mutex<std::collections::BTreeMap<strata_api::NodeId, (bool, u64)>>,
}

impl HttpState {
    /// The state of a node's HTTP port over its database and credentials.
    pub fn new(db: sled::Db, auth: Auth) -> Self {
        Self { db, auth, ctx: OnceLock::new(), seen: Default::default() }
    }
}

type Shared = Arc<HttpState>;

/// A bound HTTP port, not serving yet.
pub struct HttpListener {
    listener: strata_wire::Listener,
    tls: Option<strata_wire::TlsServer>,
}

impl HttpListener {
    /// Binds `addr` (port 0 picks a free port).
    pub async fn bind(addr: &str, tls: Option<strata_wire::TlsServer>) -> std::io::Result<Self> {
        Ok(Self { listener: strata_wire::Listener::bind(addr, MAX_CONNECTIONS, MAX_PER_ADDRESS).await?, tls })
    }

    /// The bound address.
    pub fn local_addr(&self) -> std::io::Result<std::net::SocketAddr> {
        self.listener.local_addr()
    }

    /// Serves every connection until the task is dropped.
    pub async fn serve(self, state: Shared) {
        let app = router(state);
        loop {
            let conn = self.listener.accept().await;
            let (tls, app) = (self.tls.clone(), app.clone());
            tokio::spawn(async move {
                let _open = Open::new();
                let conn = match conn.secure(tls.as_ref(), strata_wire::listen::HANDSHAKE_TIMEOUT).await {
                    Ok(conn) => conn,
                    Err(e) => return tracing::debug!(error = %e, "an HTTP connection failed its TLS handshake"),
                };
                let service = hyper_util::service::TowerToHyperService::new(app);
                let served = hyper::server::conn::http1::Builder::new()
                    .timer(hyper_util::rt::TokioTimer::new())
                    .header_read_timeout(HEAD_TIMEOUT)
                    .max_buf_size(64 << 10)
                    .serve_connection(hyper_util::rt::TokioIo::new(conn), service)
                    .await;
                if let Err(e) = served {
                    tracing::debug!(error = %e, "an HTTP connection ended");
                }
            });
        }
    }
}

/// Counts an open HTTP connection until dropped.
struct Open;

impl Open {
    fn new() -> Self {
        crate::metrics::ports().http.open.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        Open
    }
}

impl Drop for Open {
    fn drop(&mut self) {
        crate::metrics::ports().http.open.fetch_sub(1, std::sync::atomic::Ordering::Relaxed);
    }
}

/// The port's routes over `state`.
pub fn router(state: Shared) -> Router {
    Router::new()
        .route("/livez", get(livez))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .route("/status", get(status_json))
        .route("/cluster", get(cluster_json))
        .route("/", get(page::index))
        .route("/app.js", get(page::script))
        .route("/app.css", get(page::style))
        .with_state(state)
}

async fn livez(State(state): State<Shared>, Query(q): Query<HashMap<String, String>>) -> Response {
    probe(crate::probes::live(&state.db).await, q.contains_key("verbose"))
}

async fn readyz(State(state): State<Shared>, Query(q): Query<HashMap<String, String>>) -> Response {
    let checks = crate::probes::ready(&state.db, state.ctx.get().map(Arc::as_ref)).await;
    probe(checks, q.contains_key("verbose"))
}

fn probe(checks: Vec<crate::probes::Check>, verbose: bool) -> Response {
    let passed = checks.iter().all(|c| c.failure.is_none());
    let code = if passed { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE };
    let mut r = (code, crate::probes::body(&checks, verbose)).into_response();
    r.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}

async fn metrics(State(state): State<Shared>, headers: HeaderMap) -> Response {
    if let Err(refused) = authorize(&state, &headers, Role::Metrics) {
        return refused;
    }
    if !strata_api::metrics::enabled() {
        return (StatusCode::NOT_FOUND, "metrics are off on this node (`metrics = false`)\n").into_response();
    }
    let Some(ctx) = state.ctx.get().cloned() else {
        return (StatusCode::SERVICE_UNAVAILABLE, "the node is not in a cluster yet\n").into_response();
    };
    // Reading sizes walks the data directory: off the async workers.
    match tokio::task::spawn_blocking(move || crate::metrics::scrape(&ctx)).await {
        Ok(text) => ([(header::CONTENT_TYPE, crate::metrics::text::CONTENT_TYPE)], text).into_response(),
        Err(e) => (StatusCode::INTERNAL_SERVER_ERROR, format!("the scrape failed: {e}\n")).into_response(),
    }
}

async fn status_json(State(state): State<Shared>, headers: HeaderMap) -> Response {
    let ctx = match whole_view(&state, &headers) {
        Ok(ctx) => ctx,
        Err(refused) => return refused,
    };
    match tokio::task::spawn_blocking(move || status::of(&ctx)).await {
        Ok(s) => axum::Json(s).into_response(),
        Err(e) => (StatusCode::INTERNAL_SERVER_ERROR, format!("the status failed: {e}\n")).into_response(),
    }
}

async fn cluster_json(State(state): State<Shared>, headers: HeaderMap) -> Response {
    let ctx = match whole_view(&state, &headers) {
        Ok(ctx) => ctx,
        Err(refused) => return refused,
    };
    let mut r = axum::Json(cluster::gather(&state, &ctx).await).into_response();
    r.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}

/// The node, for a request whose key may see everything it holds (role `read-only` or
/// more, no prefixes: the views name every namespace and graph); else the refusal.
fn whole_view(state: &HttpState, headers: &HeaderMap) -> Result<Arc<NodeCtx>, Response> {
    let access = authorize(state, headers, Role::ReadOnly)?;
    if !access.prefixes.is_empty() {
        return Err(refused(
            StatusCode::FORBIDDEN,
            "this view shows the whole cluster: it needs a key without prefixes",
        ));
    }
    state
        .ctx
        .get()
        .cloned()
        .ok_or_else(|| (StatusCode::SERVICE_UNAVAILABLE, "the node is not in a cluster yet\n").into_response())
}

/// What the request's bearer key grants, if it grants `role`; else the refusal to send.
fn authorize(state: &HttpState, headers: &HeaderMap, role: Role) -> Result<Access, Response> {
    if !state.auth.enabled() {
        return Ok(Access::everything("no keys configured"));
    }
    let key = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim);
    let Some(key) = key else {
        return Err(refused(StatusCode::UNAUTHORIZED, "this path needs an API key: Authorization: Bearer KEY"));
    };
    let Some(access) = state.auth.check(key) else {
        strata_api::metrics::counters().auth_failures.inc();
        return Err(refused(StatusCode::UNAUTHORIZED, "unknown API key"));
    };
    if access.role < role {
        return Err(refused(StatusCode::FORBIDDEN, &format!("this path needs the {} role", role.name())));
    }
    Ok(access)
}

fn refused(code: StatusCode, why: &str) -> Response {
    let mut r = (code, format!("{why}\n")).into_response();
    if code == StatusCode::UNAUTHORIZED {
        r.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer realm=\"strata\""));
    }
    r
}
