//! The status page: static HTML, CSS and JS built into the binary (no CDN, nothing
//! fetched from the internet). The script reads `/cluster` from the node it is served
//! by every few seconds and draws the members, the groups, what the namespaces hold, disk
//! use, the latest leader changes, and a banner when something needs attention. With API
//! keys configured it asks for one (kept in the tab's session storage) and sends it as a
//! bearer token.

use axum::http::header;
use axum::response::IntoResponse;

const INDEX: &str = include_str!("index.html");
const SCRIPT: &str = include_str!("app.js");
const STYLE: &str = include_str!("app.css");

/// Headers every asset is sent with: no caching of a page that shows live state, no
/// framing by another site, no sniffing.
fn headers(kind: &'static str) -> [(header::HeaderName, &'static str); 4] {
    [
        (header::CONTENT_TYPE, kind),
        (header::CACHE_CONTROL, "no-store"),
        (header::X_FRAME_OPTIONS, "DENY"),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
    ]
}

/// `/`.
pub async fn index() -> impl IntoResponse {
    (headers("text/html; charset=utf-8"), INDEX)
}

/// `/app.js`.
pub async fn script() -> impl IntoResponse {
    (headers("text/javascript; charset=utf-8"), SCRIPT)
}

/// `/app.css`.
pub async fn style() -> impl IntoResponse {
    (headers("text/css; charset=utf-8"), STYLE)
}
