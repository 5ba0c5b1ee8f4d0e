//! Data the browser and the server share, and the validation of what users type. A leaf: it
//! imports nothing from the rest of the crate, so every layer can use it.

mod audit;
mod issue;
mod session;
mod triage;
mod validation;

pub use audit::*;
pub use issue::*;
pub use session::*;
pub use triage::*;
pub use validation::*;
