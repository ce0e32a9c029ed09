//! Values to store: where they come from (argument, stdin, file, prompt),
//! what Parameter Store can hold (non-empty UTF-8 text) and the size
//! limits of each tier, all checked before any call.
//!
//! Bytes read are held in `Zeroizing` buffers and become a `SecretValue`
//! without a copy, so nothing read is left behind in memory by us.

use std::io::Read;

use zeroize::{Zeroize, Zeroizing};

use super::cli::Tier;
use crate::secret::SecretValue;

/// Standard parameters hold values of up to 4 KB (4096 bytes).
pub const STANDARD_LIMIT: usize = 4096;
/// Advanced (and intelligent-tiering) parameters hold up to 8 KB.
pub const ADVANCED_LIMIT: usize = 8192;

/// Why a value cannot be stored. Never holds the value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ValueError {
    /// Parameter Store needs at least one character.
    Empty,
    /// Parameter Store stores text; these bytes are not UTF-8.
    NotUtf8,
    /// Over the tier's limit.
    TooLarge {
        /// Bytes in the value, or more than the limit when reading stopped.
        size: usize,
        /// The tier asked for, if any.
        tier: Option<Tier>,
        /// Whether reading stopped at the limit (the size is a lower bound).
        truncated: bool,
    },
}

impl std::fmt::Display for ValueError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Empty => f.write_str("empty value (Parameter Store needs at least 1 character)"),
            Self::NotUtf8 => f.write_str(
                "value is not valid UTF-8 (Parameter Store stores text: base64-encode binary data first)",
            ),
            Self::TooLarge {
                size,
                tier,
                truncated,
            } => {
                let size = if *truncated {
                    format!("more than {}", size - 1)
                } else {
                    size.to_string()
                };
                match tier {
                    None | Some(Tier::Standard)
                        if !self.over_every_limit() =>
                    {
                        write!(
                            f,
                            "value too large for the Standard tier ({size} bytes, limit {STANDARD_LIMIT}; pass --tier Advanced for up to {ADVANCED_LIMIT} bytes)"
                        )
                    }
                    _ => write!(
                        f,
                        "value too large for Parameter Store ({size} bytes, limit {ADVANCED_LIMIT} in the Advanced tier)"
                    ),
                }
            }
        }
    }
}

impl ValueError {
    fn over_every_limit(&self) -> bool {
        matches!(self, Self::TooLarge { size, .. } if *size > ADVANCED_LIMIT)
    }
}

/// The most bytes a value may have in this tier. Without a tier the
/// Standard limit applies: Parameter Store's default tier is Standard
/// unless the account's setting says otherwise.
#[must_use]
pub fn limit(tier: Option<Tier>) -> usize {
    match tier {
        None | Some(Tier::Standard) => STANDARD_LIMIT,
        Some(Tier::Advanced | Tier::IntelligentTiering) => ADVANCED_LIMIT,
    }
}

/// Check a value's size against the tier's limit.
///
/// # Errors
/// [`ValueError::TooLarge`], suggesting `--tier Advanced` when that fits.
pub fn check_size(size: usize, tier: Option<Tier>) -> Result<(), ValueError> {
    if size > limit(tier) {
        return Err(ValueError::TooLarge {
            size,
            tier,
            truncated: false,
        });
    }
    Ok(())
}

/// Read at most one byte more than the largest value any tier holds, so
/// that a huge input is refused without being read whole.
///
/// # Errors
/// The reader's error.
pub fn read_limited(reader: impl Read) -> std::io::Result<Zeroizing<Vec<u8>>> {
    let mut bytes = Zeroizing::new(Vec::new());
    reader
        .take(ADVANCED_LIMIT as u64 + 1)
        .read_to_end(&mut bytes)?;
    Ok(bytes)
}

/// Turn bytes read into a value: non-empty UTF-8 within the tier's limit.
/// The bytes are wiped whatever the outcome.
///
/// # Errors
/// Empty, not UTF-8, or too large.
pub fn from_bytes(
    mut bytes: Zeroizing<Vec<u8>>,
    tier: Option<Tier>,
) -> Result<SecretValue, ValueError> {
    if bytes.is_empty() {
        return Err(ValueError::Empty);
    }
    if bytes.len() > limit(tier) {
        return Err(ValueError::TooLarge {
            size: bytes.len(),
            tier,
            truncated: bytes.len() > ADVANCED_LIMIT,
        });
    }
    let owned = std::mem::take(&mut *bytes);
    match String::from_utf8(owned) {
        Ok(text) => Ok(SecretValue::new(text)),
        Err(error) => {
            error.into_bytes().zeroize();
            Err(ValueError::NotUtf8)
        }
    }
}

/// A value given as text (the command line): non-empty, within the limit.
///
/// # Errors
/// Empty or too large.
pub fn from_text(text: String, tier: Option<Tier>) -> Result<SecretValue, ValueError> {
    let value = SecretValue::new(text);
    if value.is_empty() {
        return Err(ValueError::Empty);
    }
    check_size(value.len(), tier)?;
    Ok(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bytes(b: &[u8]) -> Zeroizing<Vec<u8>> {
        Zeroizing::new(b.to_vec())
    }

    #[test]
    fn limits_per_tier() {
        assert_eq!(check_size(4096, None), Ok(()));
        assert_eq!(check_size(4096, Some(Tier::Standard)), Ok(()));
        assert_eq!(check_size(8192, Some(Tier::Advanced)), Ok(()));
        assert_eq!(check_size(8192, Some(Tier::IntelligentTiering)), Ok(()));
        assert_eq!(
            check_size(4097, None).unwrap_err().to_string(),
            "value too large for the Standard tier (4097 bytes, limit 4096; pass --tier Advanced for up to 8192 bytes)"
        );
        assert_eq!(
            check_size(8192, Some(Tier::Standard))
                .unwrap_err()
                .to_string(),
            "value too large for the Standard tier (8192 bytes, limit 4096; pass --tier Advanced for up to 8192 bytes)"
        );
        // Where Advanced would not help, it is not suggested.
        assert_eq!(
            check_size(8193, None).unwrap_err().to_string(),
            "value too large for Parameter Store (8193 bytes, limit 8192 in the Advanced tier)"
        );
        assert_eq!(
            check_size(8193, Some(Tier::Advanced))
                .unwrap_err()
                .to_string(),
            "value too large for Parameter Store (8193 bytes, limit 8192 in the Advanced tier)"
        );
    }

    #[test]
    fn sizes_are_bytes_not_characters() {
        // 1366 three-byte characters are 4098 bytes.
        let text = "✓".repeat(1366);
        assert_eq!(text.chars().count(), 1366);
        assert!(from_text(text, None).is_err());
        assert!(from_text("✓".repeat(1365), None).is_ok());
    }

    #[test]
    fn bytes_must_be_non_empty_utf8() {
        assert_eq!(from_bytes(bytes(b""), None).unwrap_err(), ValueError::Empty);
        assert_eq!(
            from_bytes(bytes(b"ok\xff"), None).unwrap_err(),
            ValueError::NotUtf8
        );
        let value = from_bytes(bytes(b"line\r\n\0\x01\x7f caf\xc3\xa9\n"), None).unwrap();
        assert_eq!(value.expose(), "line\r\n\0\x01\x7f café\n");
    }

    #[test]
    fn reading_stops_past_the_largest_limit() {
        let huge = vec![b'x'; 100_000];
        let read = read_limited(&huge[..]).unwrap();
        assert_eq!(read.len(), ADVANCED_LIMIT + 1);
        let error = from_bytes(read, Some(Tier::Advanced)).unwrap_err();
        assert_eq!(
            error.to_string(),
            "value too large for Parameter Store (more than 8192 bytes, limit 8192 in the Advanced tier)"
        );
    }
}
