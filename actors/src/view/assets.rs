//! The explorer's page: an HTML shell, its script and its style sheet, compiled into the binary so
//! that `grsu view` and a bundle need nothing from the network.

pub const INDEX_HTML: &str = include_str!("../../assets/view/index.html");
pub const APP_JS: &str = include_str!("../../assets/view/app.js");
pub const APP_CSS: &str = include_str!("../../assets/view/app.css");

/// The shell, for the server (`bundle = false`: documents from `api/`) or a bundle (from `data/`).
pub fn index_html(bundle: bool) -> String {
    INDEX_HTML.replace("{{BUNDLE}}", if bundle { "1" } else { "0" })
}
