//! The HR what-if page (issue 14): static HTML, CSS and ES modules embedded in the binary
//! with `include_str!` and served at `/` and `/assets/{file}`. No token is needed to load
//! them: the page holds no data, it calls the documented API with the user's token.

use axum::Router;
use axum::extract::Path;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

/// Every asset: file name, content type, text. Compiled in, so the page works offline and
/// from a single binary.
const ASSETS: &[(&str, &str, &str)] = &[
    ("style.css", "text/css; charset=utf-8", include_str!("../assets/style.css")),
    ("app.js", "text/javascript; charset=utf-8", include_str!("../assets/app.js")),
    ("api.js", "text/javascript; charset=utf-8", include_str!("../assets/api.js")),
    ("charts.js", "text/javascript; charset=utf-8", include_str!("../assets/charts.js")),
];

const INDEX: &str = include_str!("../assets/index.html");

/// `/` and `/assets/{file}`, merged into the API router.
pub fn routes<S: Clone + Send + Sync + 'static>() -> Router<S> {
    Router::new().route("/", get(index)).route("/assets/{file}", get(asset))
}

async fn index() -> Response {
    page_response("text/html; charset=utf-8", INDEX)
}

async fn asset(Path(file): Path<String>) -> Response {
    match ASSETS.iter().find(|(name, _, _)| *name == file) {
        Some((_, content_type, text)) => page_response(content_type, text),
        None => (StatusCode::NOT_FOUND, "no such asset").into_response(),
    }
}

/// The page's own content security policy keeps it to its own assets and API: no CDN, no
/// inline script. `no-cache` makes a browser revalidate after the binary is upgraded.
fn page_response(content_type: &'static str, text: &'static str) -> Response {
    (
        [
            (header::CONTENT_TYPE, content_type),
            (header::CACHE_CONTROL, "no-cache"),
            (
                header::CONTENT_SECURITY_POLICY,
                "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; frame-src 'self'; object-src 'none'; base-uri 'none'",
            ),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        ],
        text,
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_asset_the_page_loads_is_embedded() {
        for (name, _, _) in ASSETS {
            let referenced = INDEX.contains(&format!("/assets/{name}"))
                || ASSETS.iter().any(|(_, _, text)| text.contains(&format!("./{name}")));
            assert!(referenced, "{name} is embedded but nothing loads it");
        }
    }

    #[test]
    fn no_asset_loads_anything_from_another_host() {
        for (name, _, text) in ASSETS.iter().chain([&("index.html", "", INDEX)]) {
            // The SVG namespace is a name, not a request.
            let text = text.replace("http://www.w3.org/2000/svg", "");
            assert!(!text.contains("http://") && !text.contains("https://"), "{name} names another host");
        }
    }
}
