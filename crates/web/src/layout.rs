//! The page shell: head (stylesheet, script), the header with the product name, navigation and
//! the user's menu, the flash message, then the page's own body.

use askama::Template;

use crate::assets;
use crate::flash::Flash;

/// A link of the main navigation.
#[derive(Debug, Clone)]
pub struct NavLink {
    /// Its target.
    pub href: String,
    /// Its text.
    pub label: String,
    /// True on the page it leads to (`aria-current="page"`).
    pub active: bool,
}

impl NavLink {
    /// A link, active when `current` starts with `href` (`/` only matches itself).
    pub fn new(href: &str, label: &str, current: &str) -> NavLink {
        let active = if href == "/" {
            current == "/"
        } else {
            current == href || current.starts_with(&format!("{href}/"))
        };
        NavLink {
            href: href.to_owned(),
            label: label.to_owned(),
            active,
        }
    }
}

/// The signed-in user's corner: their name linking to their settings, and a logout button.
#[derive(Debug, Clone)]
pub struct UserMenu {
    /// Shown name.
    pub name: String,
    /// Extra line under the name (organisation, roles).
    pub detail: String,
    /// The user's own settings page.
    pub settings_href: String,
    /// Where the logout form posts.
    pub logout_action: String,
    /// CSRF token of the logout form.
    pub csrf: String,
}

/// What the shell shows around a page's body.
#[derive(Debug, Clone)]
pub struct Layout {
    /// The product name in the header and the tab title ("Skep engine").
    pub product: String,
    /// The page's title.
    pub title: String,
    /// Main navigation.
    pub nav: Vec<NavLink>,
    /// The signed-in user, if any.
    pub user: Option<UserMenu>,
}

#[derive(Template)]
#[template(path = "layout.html")]
struct Shell<'a> {
    layout: &'a Layout,
    flash: Option<&'a Flash>,
    body: &'a str,
    stylesheet: &'static str,
    script: &'static str,
}

impl Layout {
    /// The whole document: this shell around `body` (already rendered, trusted HTML).
    pub fn render(&self, flash: Option<&Flash>, body: &str) -> String {
        let shell = Shell {
            layout: self,
            flash,
            body,
            stylesheet: assets::stylesheet(),
            script: assets::script(),
        };
        // Rendering into a String fails only if a value's Display fails; none of ours does.
        shell.render().unwrap_or_else(|error| {
            tracing::error!(%error, "the page shell failed to render");
            String::from("<!doctype html><title>Error</title><p>The page could not be drawn.</p>")
        })
    }
}
