//! What the auth pages share: the form fields they draw and the flash message a redirect
//! carries.

use minijinja::context;

pub(super) struct Field {
    pub(super) name: &'static str,
    pub(super) label: &'static str,
    pub(super) kind: &'static str,
    pub(super) value: String,
    pub(super) autocomplete: &'static str,
}

pub(super) fn fields(list: Vec<Field>) -> Vec<minijinja::Value> {
    list.into_iter()
        .map(|f| {
            context! { name => f.name, label => f.label, type => f.kind, value => f.value, autocomplete => f.autocomplete }
        })
        .collect()
}

pub(super) fn input(
    name: &'static str,
    label: &'static str,
    kind: &'static str,
    autocomplete: &'static str,
) -> Field {
    Field {
        name,
        label,
        kind,
        value: String::new(),
        autocomplete,
    }
}

/// Query of the auth pages (`?verified=1`, `?reset=1`, `?email=`).
#[derive(Debug, Default, serde::Deserialize)]
pub struct PageQuery {
    pub(super) verified: Option<String>,
    pub(super) reset: Option<String>,
    pub(super) email: Option<String>,
}

pub(super) fn flash(q: &PageQuery) -> Option<&'static str> {
    if q.verified.is_some() {
        Some("Your e-mail address is verified.")
    } else if q.reset.is_some() {
        Some("Your password has been reset. Log in with the new one.")
    } else {
        None
    }
}
