//! SQL, one module per table family. Functions here run one statement each on a connection the
//! caller holds (usually inside its transaction); they decide nothing.

pub(crate) mod accounts;
pub(crate) mod pending;
pub(crate) mod rows;
pub(crate) mod statements;
pub(crate) mod transfers;
