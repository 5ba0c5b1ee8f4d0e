//! Data the browser and the server share, and the validation of what users type. A leaf: it
//! imports nothing from the rest of the crate, so every layer can use it.

mod access_request;
mod audit;
mod bulk;
mod issue;
mod notification;
mod session;
mod template;
mod triage;
mod validation;
mod webhook;
mod work;

pub use access_request::*;
pub use audit::*;
pub use bulk::*;
pub use issue::*;
pub use notification::*;
pub use session::*;
pub use template::*;
pub use triage::*;
pub use validation::*;
pub use webhook::*;
pub use work::*;
