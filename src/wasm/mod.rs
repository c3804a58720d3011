//! The JavaScript side: the only code that touches js-sys, web-sys and
//! `fetch`. It reads options, drives the core's flows over the runtime's
//! global `fetch` and turns errors into JavaScript `Error` objects.

mod api;
mod driver;
mod errors;
mod options;
mod signer;
mod source;

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_lifecycle;
