//! The checkers: each reads a recorded history (and, for convergence, what every replica
//! reports) and says whether the property held.
//!
//! | checker | property |
//! | --- | --- |
//! | [`linearizable`] | some order of the operations, each inside its interval, is legal for the model (Wing–Gong search, Porcupine-style) |
//! | [`registers`] | the KV register workload is linearizable, key by key |
//! | [`acknowledged`] | no acknowledged write of the stores workload lost (chat exactly once and in order, ref docs, vectors, graph nodes and relations), nothing resurrected |
//! | [`convergence`] | every replica of every group holds the same state at the same applied index |

pub mod acknowledged;
pub mod convergence;
pub mod linearizable;
pub mod registers;
