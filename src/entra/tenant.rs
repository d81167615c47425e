//! The tenant URL as an Entra admin enters it (*Tutorial: Develop and plan provisioning for
//! a SCIM endpoint in Microsoft Entra ID*, "Tenant URL"), parsed once for every command.
//!
//! Feature flags ride on its query string (*Known issues and resolutions with SCIM 2.0
//! protocol compliance…*, "Flags"): `aadOptscim062020` (current name) and
//! `AzureAdScimPatch062020` (its August 2020 name) opt in to the compliant PATCH dialect;
//! `AzureAdScimPatch2017` asks for the old behaviour. Names compare case-insensitively and
//! may carry a value (`?aadOptscim062020=true`); Entra strips them before it appends a
//! resource path, and so does this. Other query parameters are refused: Entra appends
//! `/Users?filter=…` to the URL, so a query of the vendor's own cannot survive.

use super::Dialect;

/// The flags that select [`Dialect::AadOptscim062020`].
const COMPLIANT_FLAGS: [&str; 2] = ["aadOptscim062020", "AzureAdScimPatch062020"];
/// The flag that asks for the old (legacy) PATCH behaviour.
const LEGACY_FLAG: &str = "AzureAdScimPatch2017";

/// A parsed tenant URL: where requests go, and the dialect its flags ask for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TenantUrl {
    base: String,
    flag: Option<Dialect>,
    https: bool,
}

/// A tenant URL no command can use.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TenantUrlError {
    #[error("tenant URL `{0}` must start with https:// or http://")]
    Scheme(String),
    #[error("tenant URL `{0}` is not a valid URL: {1}")]
    Url(String, String),
    #[error("tenant URL `{url}`: unknown query parameter `{name}` (Entra appends paths and queries to the URL; only its feature flags aadOptscim062020, AzureAdScimPatch062020 and AzureAdScimPatch2017 may follow `?`)")]
    Query { url: String, name: String },
}

impl TenantUrl {
    /// Parses `url` (`https://host/scim/v2?aadOptscim062020`). The base keeps no query, no
    /// fragment and no trailing `/`.
    pub fn parse(url: &str) -> Result<TenantUrl, TenantUrlError> {
        let shown = super::secrets::without_userinfo(url);
        let url = url.trim();
        let (rest, _fragment) = url.split_once('#').unwrap_or((url, ""));
        let (base, query) = rest.split_once('?').unwrap_or((rest, ""));
        let lower = base.to_ascii_lowercase();
        let https = lower.starts_with("https://");
        if !(https || lower.starts_with("http://")) {
            return Err(TenantUrlError::Scheme(shown));
        }
        let mut flag = None;
        for pair in query.split('&').filter(|p| !p.is_empty()) {
            let name = pair.split('=').next().unwrap_or("");
            if COMPLIANT_FLAGS.iter().any(|f| f.eq_ignore_ascii_case(name)) {
                flag = Some(Dialect::AadOptscim062020);
            } else if name.eq_ignore_ascii_case(LEGACY_FLAG) {
                flag = flag.or(Some(Dialect::Legacy));
            } else {
                return Err(TenantUrlError::Query {
                    url: shown,
                    name: super::secrets::printable(name).into_owned(),
                });
            }
        }
        let base = base.trim_end_matches('/').to_owned();
        let uri = base
            .parse::<hyper::Uri>()
            .map_err(|e| TenantUrlError::Url(shown.clone(), e.to_string()))?;
        if uri.host().is_none_or(str::is_empty) {
            return Err(TenantUrlError::Url(shown, "no host".into()));
        }
        Ok(TenantUrl { base, flag, https })
    }

    /// Scheme, authority and path prefix, without a trailing `/`: resource paths
    /// (`/Users/…`) are appended to it.
    pub fn base(&self) -> &str {
        &self.base
    }

    /// The dialect the URL's flags ask for, if any flag is present.
    pub fn flag(&self) -> Option<Dialect> {
        self.flag
    }

    /// The dialect a job on this URL speaks: the flag's, else legacy.
    pub fn dialect(&self) -> Dialect {
        self.flag.unwrap_or_default()
    }

    /// True for an `https://` URL.
    pub fn is_https(&self) -> bool {
        self.https
    }
}

impl std::fmt::Display for TenantUrl {
    /// The base without user-info (it may hold a password).
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&super::secrets::without_userinfo(&self.base))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_documented_flag_spelling_selects_its_dialect() {
        for (url, want) in [
            ("http://h/scim", None),
            (
                "http://h/scim/?aadOptscim062020",
                Some(Dialect::AadOptscim062020),
            ),
            (
                "http://h/scim?AADOPTSCIM062020=true",
                Some(Dialect::AadOptscim062020),
            ),
            (
                "http://h/scim?AzureAdScimPatch062020",
                Some(Dialect::AadOptscim062020),
            ),
            ("http://h/scim?azureadscimpatch2017", Some(Dialect::Legacy)),
            (
                "http://h/scim?AzureAdScimPatch2017&aadOptscim062020",
                Some(Dialect::AadOptscim062020),
            ),
        ] {
            let t = TenantUrl::parse(url).unwrap();
            assert_eq!(t.flag(), want, "{url}");
            assert_eq!(t.base(), "http://h/scim", "{url}");
        }
    }

    #[test]
    fn refuses_other_schemes_queries_and_hostless_urls() {
        assert!(matches!(
            TenantUrl::parse("ftp://h/x"),
            Err(TenantUrlError::Scheme(_))
        ));
        assert!(matches!(
            TenantUrl::parse("https://h/x?tenant=1"),
            Err(TenantUrlError::Query { .. })
        ));
        assert!(matches!(
            TenantUrl::parse("http:///x"),
            Err(TenantUrlError::Url(..))
        ));
    }

    #[test]
    fn errors_and_display_never_show_a_url_password() {
        let e = TenantUrl::parse("ftp://u:hunter2@h/x")
            .unwrap_err()
            .to_string();
        assert!(!e.contains("hunter2"), "{e}");
        let t = TenantUrl::parse("https://u:hunter2@h/x").unwrap();
        assert!(!t.to_string().contains("hunter2"));
        assert!(t.is_https());
    }
}
