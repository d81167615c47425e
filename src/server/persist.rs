//! The pipeline's side of durable state (`--state`, [`crate::store::durable`]): which
//! routes write, which rows a write changed, and the 503 for a write that cannot be
//! made durable. The pipeline stays free of I/O: it queues the rows and hands the
//! commit's acknowledgement to the listener, which awaits it before sending the answer.

use serde_json::Value;

use super::handlers::Reply;
use super::router::Route;
use crate::scim::ResourceKind;
use crate::store::durable::{Ack, Durable};
use crate::store::Store;
use crate::Error;

/// Routes whose success changes stored state.
pub(crate) fn is_write(route: &Route) -> bool {
    matches!(
        route,
        Route::Create(_)
            | Route::Replace(..)
            | Route::Patch(..)
            | Route::Delete(..)
            | Route::AdminReset
    )
}

/// RFC 7644 §3.12 503: the write was not made durable, so it is not acknowledged.
pub(crate) fn unavailable(why: &str) -> Reply {
    Reply::error(&Error::service_unavailable(
        format!(
            "the write could not be committed to the state database ({why}); the server \
             now refuses writes until it is restarted"
        ),
        60,
    ))
}

/// Runs the handler of a write route in the durable write order and queues the rows it
/// changed. A refused write (status ≥ 300) queues nothing.
pub(crate) fn write(
    durable: &Durable,
    store: &Store,
    route: &Route,
    handle: impl FnOnce() -> Reply,
) -> (Reply, Option<Ack>) {
    if durable.failed() {
        return (unavailable("an earlier commit failed"), None);
    }
    let _order = durable.order();
    // A deleted member leaves the groups it was in: their rows change too.
    let containing = match route {
        Route::Delete(_, id) => store.groups_containing(id),
        _ => Vec::new(),
    };
    let reply = handle();
    if reply.status >= 300 {
        return (reply, None);
    }
    let ack = match route {
        Route::AdminReset => durable.write_all(store.all_rows()),
        Route::Create(kind) => {
            let id = reply
                .body
                .as_ref()
                .and_then(|b| serde_json::from_slice::<Value>(b).ok())
                .and_then(|v| v.get("id").and_then(Value::as_str).map(str::to_owned));
            let Some(id) = id else {
                return (unavailable("the created resource has no id"), None);
            };
            durable.write(vec![store.row(*kind, &id)])
        }
        Route::Replace(kind, id) | Route::Patch(kind, id) | Route::Delete(kind, id) => {
            let mut rows = vec![store.row(*kind, id)];
            rows.extend(containing.iter().map(|g| store.row(ResourceKind::Group, g)));
            durable.write(rows)
        }
        _ => return (reply, None),
    };
    (reply, Some(ack))
}

/// Waits for a commit: `Ok` once it is durable.
pub(crate) async fn committed(ack: Ack) -> Result<(), String> {
    match ack.await {
        Ok(result) => result,
        Err(_) => Err("the state writer stopped".to_owned()),
    }
}
