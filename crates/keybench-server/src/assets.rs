//! The web UI, embedded in the binary at build time (`ui/`, without its
//! README and tests), so `cargo build` needs no network and the server
//! needs no files beside it.

use axum::http::{HeaderValue, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};

#[derive(rust_embed::RustEmbed)]
#[folder = "../../ui/"]
#[exclude = "README.md"]
#[exclude = "tests/*"]
#[exclude = "node_modules/*"]
#[exclude = "*.md"]
struct Ui;

/// Serves `GET /` and every UI file; unknown paths are 404.
pub async fn serve(uri: Uri) -> Response {
    let path = uri.path().trim_start_matches('/');
    let path = if path.is_empty() { "index.html" } else { path };
    match Ui::get(path) {
        Some(file) => {
            let mut r = (StatusCode::OK, file.data.into_owned()).into_response();
            if let Ok(v) = HeaderValue::from_str(file.metadata.mimetype()) {
                r.headers_mut().insert(header::CONTENT_TYPE, v);
            }
            r.headers_mut()
                .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
            r
        }
        None if path == "index.html" => (
            StatusCode::OK,
            [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
            "<!doctype html><title>Keybench</title><p>This build has no web UI files (ui/ was empty when it was built).</p>",
        )
            .into_response(),
        None => crate::error::ApiError::not_found("no_such_page", format!("/{path} does not exist")).into_response(),
    }
}
