//! The pure router: `(method, path) -> Route` (RFC 7644 §3.2 endpoints under a base
//! path, plus the `/_mock/*` admin routes outside it). No I/O, no hyper body types.

use hyper::Method;
use percent_encoding::percent_decode_str;

use crate::scim::ResourceKind;

/// Where a request goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Route {
    List(ResourceKind),
    Create(ResourceKind),
    /// `POST /{Resource}/.search` or `POST /.search` (RFC 7644 §3.4.3).
    Search(Option<ResourceKind>),
    Get(ResourceKind, String),
    Replace(ResourceKind, String),
    Patch(ResourceKind, String),
    Delete(ResourceKind, String),
    ServiceProviderConfig,
    ResourceTypes,
    ResourceType(String),
    Schemas,
    Schema(String),
    AdminRequests,
    AdminReset,
    AdminHealth,
    /// `GET /_mock/faults`: the fault rules with their counters.
    AdminFaultsList,
    /// `POST /_mock/faults`: add a rule (`{"rule": "..."}`).
    AdminFaultsAdd,
    /// `DELETE /_mock/faults`: remove every rule.
    AdminFaultsClear,
    /// `DELETE /_mock/faults/{id}`: remove one rule.
    AdminFaultRemove(String),
    /// The path exists but not for this method; `Allow` lists what does.
    MethodNotAllowed(&'static str),
    /// A path segment that is not valid percent-encoded UTF-8.
    BadPath(String),
    NotFound,
}

impl Route {
    /// True for routes that need no bearer token.
    pub(crate) fn is_public(&self) -> bool {
        matches!(self, Route::AdminHealth)
    }

    /// The resource type a resource route addresses.
    pub(crate) fn kind(&self) -> Option<ResourceKind> {
        match self {
            Route::List(k) | Route::Create(k) | Route::Search(Some(k)) => Some(*k),
            Route::Get(k, _) | Route::Replace(k, _) | Route::Patch(k, _) | Route::Delete(k, _) => {
                Some(*k)
            }
            _ => None,
        }
    }

    /// True for the admin routes, which the journal does not record.
    pub(crate) fn is_admin(&self) -> bool {
        matches!(
            self,
            Route::AdminRequests
                | Route::AdminReset
                | Route::AdminHealth
                | Route::AdminFaultsList
                | Route::AdminFaultsAdd
                | Route::AdminFaultsClear
                | Route::AdminFaultRemove(_)
        )
    }
}

fn segment(raw: &str) -> Result<String, Route> {
    percent_decode_str(raw)
        .decode_utf8()
        .map(|s| s.into_owned())
        .map_err(|_| {
            Route::BadPath(format!(
                "path segment `{raw}` is not valid percent-encoded UTF-8"
            ))
        })
}

fn method_check(
    method: &Method,
    allowed: &'static str,
    route: impl FnOnce(&Method) -> Option<Route>,
) -> Route {
    route(method).unwrap_or(Route::MethodNotAllowed(allowed))
}

/// Routes `path` (without the query) for `method`. `base` is the SCIM base path
/// (`/scim/v2`); `admin` enables `/_mock/*`.
pub(crate) fn route(method: &Method, path: &str, base: &str, admin: bool) -> Route {
    if admin {
        match path {
            "/_mock/requests" => {
                return method_check(method, "GET", |m| {
                    (m == Method::GET).then_some(Route::AdminRequests)
                })
            }
            "/_mock/reset" => {
                return method_check(method, "POST", |m| {
                    (m == Method::POST).then_some(Route::AdminReset)
                })
            }
            "/_mock/health" => {
                return method_check(method, "GET", |m| {
                    (m == Method::GET).then_some(Route::AdminHealth)
                })
            }
            "/_mock/faults" => {
                return method_check(method, "GET, POST, DELETE", |m| match *m {
                    Method::GET => Some(Route::AdminFaultsList),
                    Method::POST => Some(Route::AdminFaultsAdd),
                    Method::DELETE => Some(Route::AdminFaultsClear),
                    _ => None,
                })
            }
            _ => {
                if let Some(id) = path.strip_prefix("/_mock/faults/") {
                    let id = id.to_owned();
                    return method_check(method, "DELETE", |m| {
                        (m == Method::DELETE).then_some(Route::AdminFaultRemove(id))
                    });
                }
            }
        }
    }
    let base = base.trim_end_matches('/');
    let Some(rest) = path.strip_prefix(base) else {
        return Route::NotFound;
    };
    if !rest.is_empty() && !rest.starts_with('/') {
        return Route::NotFound;
    }
    let parts: Vec<&str> = rest.split('/').filter(|s| !s.is_empty()).collect();
    let decoded: Vec<String> = match parts.iter().map(|p| segment(p)).collect() {
        Ok(v) => v,
        Err(route) => return route,
    };
    let d: Vec<&str> = decoded.iter().map(String::as_str).collect();
    match d.as_slice() {
        [".search"] => method_check(method, "POST", |m| {
            (m == Method::POST).then_some(Route::Search(None))
        }),
        [name] if name.eq_ignore_ascii_case("ServiceProviderConfig") => {
            method_check(method, "GET", |m| {
                (m == Method::GET).then_some(Route::ServiceProviderConfig)
            })
        }
        [name] if name.eq_ignore_ascii_case("ResourceTypes") => method_check(method, "GET", |m| {
            (m == Method::GET).then_some(Route::ResourceTypes)
        }),
        [name, id] if name.eq_ignore_ascii_case("ResourceTypes") => {
            let id = (*id).to_owned();
            method_check(method, "GET", |m| {
                (m == Method::GET).then_some(Route::ResourceType(id))
            })
        }
        [name] if name.eq_ignore_ascii_case("Schemas") => method_check(method, "GET", |m| {
            (m == Method::GET).then_some(Route::Schemas)
        }),
        [name, id] if name.eq_ignore_ascii_case("Schemas") => {
            let id = (*id).to_owned();
            method_check(method, "GET", |m| {
                (m == Method::GET).then_some(Route::Schema(id))
            })
        }
        [name] => match ResourceKind::from_endpoint(name) {
            Some(kind) => method_check(method, "GET, POST", |m| match *m {
                Method::GET => Some(Route::List(kind)),
                Method::POST => Some(Route::Create(kind)),
                _ => None,
            }),
            None => Route::NotFound,
        },
        [name, ".search"] => match ResourceKind::from_endpoint(name) {
            Some(kind) => method_check(method, "POST", |m| {
                (m == Method::POST).then_some(Route::Search(Some(kind)))
            }),
            None => Route::NotFound,
        },
        [name, id] => match ResourceKind::from_endpoint(name) {
            Some(kind) => {
                let id = (*id).to_owned();
                method_check(method, "GET, PUT, PATCH, DELETE", |m| match *m {
                    Method::GET => Some(Route::Get(kind, id)),
                    Method::PUT => Some(Route::Replace(kind, id)),
                    Method::PATCH => Some(Route::Patch(kind, id)),
                    Method::DELETE => Some(Route::Delete(kind, id)),
                    _ => None,
                })
            }
            None => Route::NotFound,
        },
        _ => Route::NotFound,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const B: &str = "/scim/v2";

    #[test]
    fn routes_resource_endpoints_case_insensitively() {
        assert_eq!(
            route(&Method::GET, "/scim/v2/users", B, true),
            Route::List(ResourceKind::User)
        );
        assert_eq!(
            route(&Method::PATCH, "/scim/v2/Groups/abc", B, true),
            Route::Patch(ResourceKind::Group, "abc".into())
        );
        assert_eq!(
            route(&Method::POST, "/scim/v2/Users/.search", B, true),
            Route::Search(Some(ResourceKind::User))
        );
    }

    #[test]
    fn wrong_method_lists_allowed_methods() {
        assert_eq!(
            route(&Method::DELETE, "/scim/v2/Users", B, true),
            Route::MethodNotAllowed("GET, POST")
        );
    }

    #[test]
    fn schema_urn_may_be_percent_encoded() {
        assert_eq!(
            route(
                &Method::GET,
                "/scim/v2/Schemas/urn%3Aietf%3Aparams",
                B,
                true
            ),
            Route::Schema("urn:ietf:params".into())
        );
    }

    #[test]
    fn admin_routes_are_outside_the_base_path_and_can_be_disabled() {
        assert_eq!(
            route(&Method::GET, "/_mock/requests", B, true),
            Route::AdminRequests
        );
        assert_eq!(
            route(&Method::GET, "/_mock/requests", B, false),
            Route::NotFound
        );
        assert_eq!(
            route(&Method::GET, "/scim/v2/_mock/requests", B, true),
            Route::NotFound
        );
        assert_eq!(
            route(&Method::DELETE, "/_mock/faults/3", B, true),
            Route::AdminFaultRemove("3".into())
        );
        assert_eq!(
            route(&Method::POST, "/_mock/faults", B, true),
            Route::AdminFaultsAdd
        );
        assert!(Route::AdminFaultsClear.is_admin());
    }

    #[test]
    fn invalid_utf8_in_a_segment_is_a_bad_path() {
        assert!(matches!(
            route(&Method::GET, "/scim/v2/Users/%FF", B, true),
            Route::BadPath(_)
        ));
    }
}
