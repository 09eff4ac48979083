//! The web UI: server-rendered HTML, no JavaScript, one stylesheet served from here.

pub mod history;
pub mod pages;

use axum::http::{header, StatusCode};
use axum::response::{Html, IntoResponse, Response};

use crate::access::Role;
use crate::state::Failure;

/// The stylesheet (small, phone-friendly).
const CSS: &str = include_str!("fox.css");

/// `GET /static/fox.css`
pub async fn css() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        CSS,
    )
        .into_response()
}

/// HTML-escapes text.
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Escapes a JSON value shown as text (strings without quotes, null as an empty string).
pub fn val(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::String(s) => esc(s),
        serde_json::Value::Null => String::new(),
        other => esc(&other.to_string()),
    }
}

/// A whole page: header with navigation and who is logged in, then `body`.
pub fn page(role: &Role, status: StatusCode, title: &str, body: &str) -> Response {
    let who = match role {
        Role::Public => r#"<a href="/login">Log in</a>"#.to_owned(),
        Role::Member(m) => format!(
            r#"<a href="/members/{}">{}</a> <form class="inline" method="post" action="/logout"><button>Log out</button></form>"#,
            crate::data::enc(m),
            esc(m)
        ),
        Role::Noc => r#"NOC <form class="inline" method="post" action="/logout"><button>Log out</button></form>"#.to_owned(),
    };
    let html = format!(
        r#"<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title} · FOX looking glass</title>
<link rel="stylesheet" href="/static/fox.css">
</head><body>
<header><nav><a class="brand" href="/">FOX looking glass</a>
<a href="/lookup">Prefix search</a> <a href="/reasons">Filter reasons</a> <a href="/service">Service</a>
<span class="who">{who}</span></nav></header>
<main>
<h1>{title}</h1>
{body}
</main>
<footer>JSON API: <a href="/api/openapi.json">/api/openapi.json</a></footer>
</body></html>
"#,
        title = esc(title),
    );
    (status, Html(html)).into_response()
}

/// An error page that says what was wrong.
pub fn error_page(role: &Role, status: StatusCode, message: &str) -> Response {
    let hint = match status {
        StatusCode::UNAUTHORIZED => {
            r#"<p><a href="/login">Log in</a> with your member or NOC token.</p>"#
        }
        StatusCode::FORBIDDEN => "<p>Your token does not give access to this view.</p>",
        _ => "",
    };
    let body = format!(r#"<p class="error">{}</p>{hint}"#, esc(message));
    page(
        role,
        status,
        &format!(
            "{} {}",
            status.as_u16(),
            status.canonical_reason().unwrap_or("Error")
        ),
        &body,
    )
}

/// A failure rendered as an error page.
pub fn failure(role: &Role, f: Failure) -> Response {
    error_page(role, f.status, &f.message)
}
