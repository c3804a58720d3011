//! `decode_unverified` on any text: a JWT that is read for diagnostics.
#![no_main]

use grantkit::jwt::decode_unverified;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    match decode_unverified(&text) {
        Ok(decoded) => {
            let _ = format!("{decoded:?}");
        }
        Err(error) => {
            let _ = format!("{error} {error:?} {}", error.code());
        }
    }
});
