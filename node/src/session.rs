//! One client connection's credentials: what its `authenticate` granted, and its frame
//! limit, which stays small (4 KiB, room for an `authenticate`) until a key is accepted
//! on a node that asks for keys, so that an unauthenticated peer cannot make the node
//! hold (or decode) a large frame; and then is what the key's role needs: a key that may
//! not write gets `max_read_frame_bytes`, never a limit sized for writes.

use crate::auth::Auth;
use std::sync::{Arc, Mutex};
use strata_api::Error;
use strata_api::Limits;
use strata_api::access::{Access, Role};
use strata_wire::FrameLimit;

/// The frame limit of a connection that has not authenticated on a node asking for keys.
pub const UNAUTHENTICATED_FRAME: usize = 4 << 10;

/// A connection's session.
pub struct Session {
    auth: Auth,
    granted: Mutex<Option<Arc<Access>>>,
    frame: FrameLimit,
    limits: Limits,
}

impl Session {
    /// A new connection's session; answers it with the frame limit its transport uses.
    pub fn new(auth: &Auth, limits: &Limits) -> (Arc<Self>, FrameLimit) {
        let max = limits.max_frame_bytes;
        let frame = FrameLimit::new(if auth.enabled() { UNAUTHENTICATED_FRAME.min(max) } else { max });
        let session =
            Self { auth: auth.clone(), granted: Mutex::new(None), frame: frame.clone(), limits: limits.clone() };
        (Arc::new(session), frame)
    }

    /// Checks `key`; on success the connection's later calls have its access.
    pub fn authenticate(&self, key: &str) -> Result<Access, Error> {
        let Some(access) = self.auth.check(key) else {
            strata_api::metrics::counters().auth_failures.inc();
            tracing::info!("a connection presented an unknown API key");
            return Err(unauthenticated());
        };
        *self.granted.lock().unwrap_or_else(|p| p.into_inner()) = Some(Arc::new(access.clone()));
        self.frame.set(self.limits.frame_for(access.role));
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
        let limits = Limits { max_frame_bytes: 1 << 27, ..Limits::default() };
        let (session, frame) = Session::new(&Auth::default(), &limits);
        assert_eq!(frame.get(), 1 << 27);
        assert!(session.require(Role::Admin, "join").is_ok());
    }

    #[test]
    fn a_reader_never_gets_a_frame_limit_sized_for_writes() {
        let (auth, keys) = Auth::for_tests(&[("reader", Role::ReadOnly), ("writer", Role::ReadWrite)]);
        let limits = Limits::default();
        let (session, frame) = Session::new(&auth, &limits);
        assert_eq!(frame.get(), UNAUTHENTICATED_FRAME, "before authenticate");
        assert!(session.authenticate("not a key").is_err());
        assert_eq!(frame.get(), UNAUTHENTICATED_FRAME, "a wrong key raises nothing");
        session.authenticate(&keys[0]).unwrap();
        assert_eq!(frame.get(), limits.max_read_frame_bytes);
        let (session, frame) = Session::new(&auth, &limits);
        session.authenticate(&keys[1]).unwrap();
        assert_eq!(frame.get(), limits.max_frame_bytes);
    }
}
