//! Small mechanisms the other layers share and that know nothing of the app: the clock,
//! randomness, sealing secrets, private files, work that must finish once started, maps kept
//! within a size bound, calls counted per client address (`rate_window.rs`), Markdown rendered
//! safe to insert (`markdown.rs`).

pub mod bounded_map;
pub mod clock;
pub mod detach;
pub mod files;
pub mod markdown;
pub mod network;
pub mod per_key_limit;
pub mod random;
pub mod rate_window;
pub mod seal;
