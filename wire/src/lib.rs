//! The framing both of Strata's ports speak (clients to nodes, nodes to nodes): each
//! message is one MessagePack value behind a 4-byte big-endian length, as tarpc's own
//! transport frames it, but read the way a server facing untrusted peers must.
//!
//! tarpc's transport reserves a frame's announced length before a byte of it arrives (a
//! 4-byte header announcing 512 MiB reserves 512 MiB), and its decoder turns a panic in a
//! field's deserialiser (an out-of-range deadline) into a dead task. Here a frame's buffer
//! grows only with the bytes that came, a frame past the limit ends the connection before
//! it is buffered, and a value that cannot be decoded is an error, whatever the input.
//! Both sides import these types, so the format and its limits are defined once.
//!
//! | module | job |
//! | --- | --- |
//! | [`frame`] | the length-prefixed frame codec and its (shared, adjustable) limit |
//! | [`budget`] | what decoding a frame may cost, priced before it starts |
//! | [`serve`] | one served connection: requests on budgets of bytes, answers and time |
//! | [`msgpack`] | MessagePack values in frames, decoding that cannot panic |
//! | [`listen`] | accepting connections, at most so many at once |
//! | [`transport`] | a tarpc transport over any byte stream, and dialling a TCP one |
//! | [`tls`] | TLS on either side of a connection (rustls), from PEM files |

pub mod budget;
pub mod frame;
pub mod listen;
pub mod msgpack;
pub mod serve;
pub mod tls;
pub mod transport;

pub use frame::{FrameCodec, FrameLimit, FrameStart};
pub use listen::{Conn, Listener};
pub use serve::{Ended, Handler, PortStats, RequestMemory, ServeOptions, serve};
pub use tls::{Io, TlsClient, TlsServer};
pub use transport::{Transport, connect, connect_as, transport};
