//! Python rapidfuzz's `utils.default_process` and `fuzz.QRatio`, over Unicode scalar values.
//!
//! `default_process` replaces every character that is not alphanumeric with a space, lowercases,
//! and trims whitespace at both ends (inner runs of spaces are kept, as rapidfuzz keeps them).
//! `QRatio` is `fuzz.ratio` (100 × the normalised Indel similarity) on processed strings, and 0
//! when either processed string is empty.

use rapidfuzz::fuzz;

/// rapidfuzz's `default_process`: non-alphanumerics to spaces, lowercase, trim.
pub fn default_process(text: &str) -> String {
    let mapped: String = text
        .chars()
        .map(|character| {
            if character.is_alphanumeric() {
                // Simple (one-to-one) lowercase mapping, as rapidfuzz's table does: a character whose
                // full lowercase is several characters (`İ`) keeps the first of them.
                character.to_lowercase().next().unwrap_or(character)
            } else {
                ' '
            }
        })
        .collect();
    mapped.trim().to_string()
}

/// `fuzz.QRatio(a, b, processor=default_process)`, on a 0–100 scale.
pub fn qratio(a: &str, b: &str) -> f64 {
    qratio_processed(&default_process(a), &default_process(b))
}

/// `fuzz.QRatio` of two already processed strings.
pub fn qratio_processed(a: &str, b: &str) -> f64 {
    if a.is_empty() || b.is_empty() {
        return 0.0;
    }
    fuzz::ratio(a.chars(), b.chars()) * 100.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn processing_replaces_punctuation_lowercases_and_trims() {
        assert_eq!(default_process("  The Matrix (1999)! "), "the matrix  1999");
        assert_eq!(default_process("Amélie"), "amélie");
        assert_eq!(default_process("--"), "");
    }

    #[test]
    fn qratio_is_zero_for_empty_and_hundred_for_equal() {
        assert_eq!(qratio("", "abc"), 0.0);
        assert_eq!(qratio("!!", "!!"), 0.0);
        assert_eq!(qratio("Heat (1995)", "HEAT (1995)"), 100.0);
        // Inner runs of spaces are kept: "heat  1995" against "heat 1995".
        assert!(qratio("Heat (1995)", "heat 1995") < 100.0);
        // ratio("abcd", "abce") = 1 - 2/8.
        assert!((qratio("abcd", "abce") - 75.0).abs() < 1e-9);
    }
}
