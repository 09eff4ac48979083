//! The HTTP server: routes, and the guard every request passes (size limits, rate limit,
//! authentication, security headers, metrics).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use axum::extract::{ConnectInfo, DefaultBodyLimit, MatchedPath, Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::json;

use crate::access::Role;
use crate::state::AppState;
use crate::{api, birdwatcher, birdwatcher_table, ui};

/// Longest query string accepted (bytes).
pub const MAX_QUERY: usize = 2048;
/// Largest request body accepted (bytes): only the login form has one.
pub const MAX_BODY: usize = 4096;
/// Name of the login cookie.
pub const COOKIE: &str = "fox_lg";

/// The route template that answered, carried to the outer guard for metrics.
#[derive(Clone)]
struct Endpoint(String);

/// Every route of the looking glass.
pub fn router(st: AppState) -> Router {
    let api_routes = Router::new()
        .route("/api/openapi.json", get(api::openapi))
        .route("/api/v1/whoami", get(api::whoami))
        .route("/api/v1/summary", get(api::summary))
        .route("/api/v1/routeservers", get(api::route_servers))
        .route("/api/v1/routeservers/{rs}/neighbors", get(api::neighbors))
        .route(
            "/api/v1/routeservers/{rs}/neighbors/{addr}",
            get(api::neighbor),
        )
        .route(
            "/api/v1/routeservers/{rs}/neighbors/{addr}/routes/{kind}",
            get(api::routes),
        )
        .route("/api/v1/lookup", get(api::lookup))
        .route("/api/v1/members/{name}", get(api::member))
        .route(
            "/api/v1/members/{name}/history",
            get(crate::history::api_member_history),
        )
        .route(
            "/api/v1/service/history",
            get(crate::history::api_service_history),
        )
        .route("/api/v1/reasons", get(api::reasons))
        .route("/metrics", get(api::metrics));
    let bw = Router::new()
        .route("/birdwatcher/{rs}/version", get(birdwatcher::version))
        .route("/birdwatcher/{rs}/status", get(birdwatcher::status))
        .route(
            "/birdwatcher/{rs}/protocols/bgp",
            get(birdwatcher::protocols_bgp),
        )
        .route(
            "/birdwatcher/{rs}/protocols/short",
            get(birdwatcher::protocols_short),
        )
        .route(
            "/birdwatcher/{rs}/routes/protocol/{id}",
            get(birdwatcher::routes_protocol),
        )
        .route(
            "/birdwatcher/{rs}/routes/filtered/{id}",
            get(birdwatcher::routes_filtered),
        )
        .route(
            "/birdwatcher/{rs}/routes/noexport/{id}",
            get(birdwatcher::routes_noexport),
        )
        .route(
            "/birdwatcher/{rs}/routes/prefix",
            get(birdwatcher::routes_prefix),
        )
        .route(
            "/birdwatcher/{rs}/routes/table/{table}",
            get(birdwatcher_table::table),
        )
        .route(
            "/birdwatcher/{rs}/routes/table/{table}/filtered",
            get(birdwatcher_table::table_filtered),
        )
        .route(
            "/birdwatcher/{rs}/routes/table/{table}/peer/{peer}",
            get(birdwatcher_table::table_peer),
        )
        .route(
            "/birdwatcher/{rs}/routes/peer/{peer}",
            get(birdwatcher_table::peer),
        )
        .route(
            "/birdwatcher/{rs}/routes/count/protocol/{id}",
            get(birdwatcher_table::count_protocol),
        )
        .route(
            "/birdwatcher/{rs}/routes/count/table/{table}",
            get(birdwatcher_table::count_table),
        )
        .route(
            "/birdwatcher/{rs}/routes/count/primary/{id}",
            get(birdwatcher_table::count_primary),
        );
    let pages = Router::new()
        .route("/", get(ui::pages::overview))
        .route("/routeservers/{rs}", get(ui::pages::neighbors))
        .route(
            "/routeservers/{rs}/neighbors/{addr}/routes/{kind}",
            get(ui::pages::routes),
        )
        .route("/members/{name}", get(ui::pages::member))
        .route("/members/{name}/history", get(ui::history::member))
        .route("/service", get(ui::history::service))
        .route("/lookup", get(ui::pages::lookup))
        .route("/reasons", get(ui::pages::reasons))
        .route("/login", get(ui::pages::login_form).post(ui::pages::login))
        .route("/logout", post(ui::pages::logout))
        .route("/static/fox.css", get(ui::css));
    Router::new()
        .merge(api_routes)
        .merge(bw)
        .merge(pages)
        .route_layer(middleware::from_fn(tag_endpoint))
        .fallback(fallback)
        .layer(middleware::from_fn_with_state(st.clone(), guard))
        .layer(DefaultBodyLimit::max(MAX_BODY))
        .with_state(st)
}

async fn tag_endpoint(req: Request, next: Next) -> Response {
    let ep = req
        .extensions()
        .get::<MatchedPath>()
        .map(|m| m.as_str().to_owned());
    let mut resp = next.run(req).await;
    if let Some(ep) = ep {
        resp.extensions_mut().insert(Endpoint(ep));
    }
    resp
}

async fn fallback(req: Request) -> Response {
    let path = req.uri().path().to_owned();
    let msg = format!(
        "no page or endpoint `{}`; see / or /api/openapi.json",
        crate::data::clip(&path)
    );
    if wants_json(&path) {
        (StatusCode::NOT_FOUND, Json(json!({ "error": msg }))).into_response()
    } else {
        ui::error_page(&Role::Public, StatusCode::NOT_FOUND, &msg)
    }
}

/// API and birdwatcher paths answer in JSON; everything else in HTML.
pub fn wants_json(path: &str) -> bool {
    path.starts_with("/api/") || path.starts_with("/birdwatcher/") || path == "/metrics"
}

fn error(path: &str, status: StatusCode, msg: &str) -> Response {
    if wants_json(path) {
        (status, Json(json!({ "error": msg }))).into_response()
    } else {
        ui::error_page(&Role::Public, status, msg)
    }
}

/// The token in `Cookie: fox_lg=...`, if any.
pub fn cookie_token(req: &Request) -> Option<String> {
    req.headers()
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == COOKIE)
        .map(|(_, v)| v.to_owned())
}

async fn guard(
    State(st): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    mut req: Request,
    next: Next,
) -> Response {
    let start = Instant::now();
    let path = req.uri().path().to_owned();
    let mut resp = if req.uri().query().map_or(0, str::len) > MAX_QUERY || path.len() > MAX_QUERY {
        error(
            &path,
            StatusCode::URI_TOO_LONG,
            &format!("the URL is longer than {MAX_QUERY} bytes"),
        )
    } else if let Err(wait) = st.limiter.check(peer.ip()) {
        st.metrics.rate_limited.with_label_values(&["all"]).inc();
        let secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
        let mut r = error(
            &path,
            StatusCode::TOO_MANY_REQUESTS,
            &format!(
                "too many requests from {}; try again in {secs} s",
                peer.ip()
            ),
        );
        if let Ok(v) = HeaderValue::from_str(&secs.max(1).to_string()) {
            r.headers_mut().insert(header::RETRY_AFTER, v);
        }
        r
    } else {
        match authenticate(&st, &req) {
            Ok(role) => {
                req.extensions_mut().insert(role);
                req.extensions_mut().insert(ClientAddr(peer));
                next.run(req).await
            }
            Err(msg) => {
                let mut r = error(&path, StatusCode::UNAUTHORIZED, &msg);
                r.headers_mut().insert(
                    header::WWW_AUTHENTICATE,
                    HeaderValue::from_static("Bearer realm=\"fox-looking-glass\""),
                );
                r
            }
        }
    };
    let endpoint = resp
        .extensions()
        .get::<Endpoint>()
        .map(|e| e.0.clone())
        .unwrap_or_else(|| "unmatched".to_owned());
    let status = resp.status().as_u16().to_string();
    st.metrics
        .requests
        .with_label_values(&[&endpoint, &status])
        .inc();
    st.metrics
        .duration
        .with_label_values(&[&endpoint])
        .observe(start.elapsed().as_secs_f64());
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("default-src 'self'; frame-ancestors 'none'; form-action 'self'"),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    if !h.contains_key(header::CACHE_CONTROL) {
        h.insert(
            header::CACHE_CONTROL,
            HeaderValue::from_static("private, no-store"),
        );
    }
    resp
}

/// The client's socket address, for handlers that check trusted networks.
#[derive(Clone, Copy, Debug)]
pub struct ClientAddr(pub SocketAddr);

/// The role from a bearer token (a wrong one is an error) or the login cookie (a wrong one
/// means public).
fn authenticate(st: &AppState, req: &Request) -> Result<Role, String> {
    if let Some(v) = req.headers().get(header::AUTHORIZATION) {
        let token = v
            .to_str()
            .ok()
            .and_then(|s| s.strip_prefix("Bearer "))
            .map(str::trim)
            .ok_or("the Authorization header must be `Bearer TOKEN`")?;
        return st
            .tokens
            .check(token)
            .ok_or_else(|| "the bearer token is not recognised".to_owned());
    }
    Ok(cookie_token(req)
        .and_then(|t| st.tokens.check(&t))
        .unwrap_or(Role::Public))
}

/// Serves the looking glass on `listener` until `shutdown` resolves.
pub async fn serve(
    st: AppState,
    listener: tokio::net::TcpListener,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let app = router(Arc::clone(&st));
    axum::serve(
        listener,
        app.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown)
    .await
}
