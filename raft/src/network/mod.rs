//! The raft transport: one tarpc service between nodes whose every call names its raft
//! group, so all groups share one connection per peer.
//!
//! | module | job |
//! | --- | --- |
//! | [`service`] | the peer-to-peer service trait and its error |
//! | [`client`] | openraft's `RaftNetworkFactory` over a pool of peer connections |
//! | [`append`] | appends that outlive openraft's 100 ms wait (a large entry is sent once, not again and again) |
//! | [`server`] | the inbound side: dispatches each call to the group it names |

pub mod append;
pub mod client;
pub mod server;
pub mod service;

/// The largest frame either side accepts (snapshot chunks and big batches travel whole).
pub const MAX_FRAME: usize = 512 << 20;
