//! One client connection's credentials: what its `authenticate` granted, and its frame
//! limit, which stays small (64 KiB, room for an `authenticate`) until a key is accepted
//! on a node that asks for keys, so that an unauthenticated peer cannot make the node
//! hold a large frame.

use crate::auth::Auth;
use std::sync::{Arc, Mutex};
use strata_api::Error;
use strata_api::access::{Access, Role};
use strata_wire::FrameLimit;

/// The frame limit of a connection that has not authenticated on a node asking for keys.
pub const UNAUTHENTICATED_FRAME: usize = 64 << 10;

/// A connection's session.
pub struct Session {
    auth: Auth,
    granted: Mutex<Option<Arc<Access>>>,
    frame: FrameLimit,
    max_frame: usize,
}

impl Session {
    /// A new connection's session; answers it with the frame limit its transport uses.
    pub fn new(auth: &Auth, max_frame: usize) -> (Arc<Self>, FrameLimit) {
        let frame = FrameLimit::new(if auth.enabled() { UNAUTHENTICATED_FRAME.min(max_frame) } else { max_frame });
        let session = Self { auth: auth.clone(), granted: Mutex::new(None), frame: frame.clone(), max_frame };
        (Arc::new(session), frame)
    }

    /// Checks `key`; on success the connection's later calls have its access.
    pub fn authenticate(&self, key: &str) -> Result<Access, Error> {
        let Some(access) = self.auth.check(key) else {
            tracing::info!("a connection presented an unknown API key");
            return Err(unauthenticated());
        };
        *self.granted.lock().unwrap_or_else(|p| p.into_inner()) = Some(Arc::new(access.clone()));
        self.frame.set(self.max_frame);
        Ok(access)
    }

    /// What this connection may do (everything on a node without keys).
    pub fn access(&self) -> Result<Arc<Access>, Error> {
        if !self.auth.enabled() {
            return Ok(Arc::new(Access::everything("no keys configured")));
        }
        self.granted.lock().unwrap_or_else(|p| p.into_inner()).clone().ok_or_else(unauthenticated)
    }

    /// The access, when it has at least `role`.
    pub fn require(&self, role: Role, call: &str) -> Result<Arc<Access>, Error> {
        let access = self.access()?;
        access.require(role, call)?;
        Ok(access)
    }
}

/// The one error for a missing or wrong key: it says nothing of which keys exist.
fn unauthenticated() -> Error {
    Error::Unauthenticated("present a valid API key (authenticate) first".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn without_keys_everything_is_allowed_and_frames_are_full_size() {
        let (session, frame) = Session::new(&Auth::default(), 1 << 20);
        assert_eq!(frame.get(), 1 << 20);
        assert!(session.require(Role::Admin, "join").is_ok());
    }
}
