//! The compact binary form of a cached chat response.
//!
//! A paper-setting sweep stores about 835 responses per sample and search, nine in ten of them a
//! scoring answer: one token with 20 alternatives. As JSON such an answer is ~1 KiB, mostly key
//! names and the decimal digits of log-probabilities; here it is ~150 bytes, and it reads back
//! bit for bit (JSON text read back by a parser that is not correctly rounded can move a
//! log-probability by one unit in the last place, and a resumed run would then score with other
//! numbers than the run that paid for the call).
//!
//! Layout (integers are LEB128 varints, strings a varint code and UTF-8 bytes):
//! - flags (1 byte): [`LOGPROBS_AS_F32`] when every log-probability of the response is exactly a
//!   float32 value (vLLM's are), stored in 4 bytes each instead of 8;
//! - the model id, prompt and completion tokens, the number of choices;
//! - per choice: its text, the finish reason (0 stop, 1 length, 2 other + its name), the number of
//!   logprob positions plus one (0: no logprobs), and per position the token, its log-probability,
//!   the number of alternatives and each alternative's token and log-probability.
//!
//! A string's code is below [`COMMON_TOKENS`]'s length for one of those tokens (the answers a
//! scoring request reads), else the string's length plus that length, then its bytes. The table is
//! part of the format: changing it is a new store format version.

use crate::model::{
    ChatResponse, Choice, FinishReason, TokenLogprob, TokenText, TopLogprob, Usage,
};

/// Every log-probability is stored as 4 bytes (float32) rather than 8.
const LOGPROBS_AS_F32: u8 = 0x01;
const KNOWN_FLAGS: u8 = LOGPROBS_AS_F32;

/// Tokens stored as one byte.
const COMMON_TOKENS: [&str; 16] = [
    " Yes", " No", "Yes", "No", " yes", " no", "yes", "no", " YES", " NO", "YES", "NO", "", " ",
    "\n", ".",
];

/// The most choices, positions or alternatives one response may claim (a guard against a damaged
/// entry asking for an absurd allocation; real responses have a handful).
const MAX_COUNT: u64 = 1 << 20;

/// Appends the encoding of `response` to `out`.
pub(super) fn encode(response: &ChatResponse, out: &mut Vec<u8>) {
    let as_f32 =
        all_logprobs(response).all(|value| ((value as f32) as f64).to_bits() == value.to_bits());
    out.push(if as_f32 { LOGPROBS_AS_F32 } else { 0 });
    put_string(out, &response.model);
    put_varint(out, response.usage.prompt_tokens);
    put_varint(out, response.usage.completion_tokens);
    put_varint(out, response.choices.len() as u64);
    for choice in &response.choices {
        put_string(out, &choice.text);
        match &choice.finish_reason {
            FinishReason::Stop => out.push(0),
            FinishReason::Length => out.push(1),
            FinishReason::Other(name) => {
                out.push(2);
                put_string(out, name);
            }
        }
        match &choice.logprobs {
            None => put_varint(out, 0),
            Some(positions) => {
                put_varint(out, positions.len() as u64 + 1);
                for position in positions {
                    put_string(out, &position.token);
                    put_logprob(out, position.logprob, as_f32);
                    put_varint(out, position.top_logprobs.len() as u64);
                    for top in &position.top_logprobs {
                        put_string(out, &top.token);
                        put_logprob(out, top.logprob, as_f32);
                    }
                }
            }
        }
    }
}

/// Reads a response written by [`encode`]; an error says what is wrong and where.
pub(super) fn decode(bytes: &[u8]) -> Result<ChatResponse, String> {
    let mut reader = Reader { bytes, at: 0 };
    let flags = reader.byte("flags")?;
    if flags & !KNOWN_FLAGS != 0 {
        return Err(format!("unknown flags {flags:#04x}"));
    }
    let as_f32 = flags & LOGPROBS_AS_F32 != 0;
    let model = reader.string("model")?;
    let usage = Usage {
        prompt_tokens: reader.varint("prompt tokens")?,
        completion_tokens: reader.varint("completion tokens")?,
    };
    let choice_count = reader.count("choices")?;
    let mut choices = Vec::with_capacity(choice_count.min(16));
    for _ in 0..choice_count {
        let text = reader.string("choice text")?;
        let finish_reason = match reader.byte("finish reason")? {
            0 => FinishReason::Stop,
            1 => FinishReason::Length,
            2 => FinishReason::Other(reader.string("finish reason")?),
            other => return Err(format!("unknown finish reason code {other}")),
        };
        let logprobs = match reader.count("logprob positions")? {
            0 => None,
            positions_plus_one => {
                let mut positions = Vec::with_capacity((positions_plus_one - 1).min(64));
                for _ in 1..positions_plus_one {
                    let token = reader.token("token")?;
                    let logprob = reader.logprob(as_f32)?;
                    let top_count = reader.count("alternatives")?;
                    let mut top_logprobs = Vec::with_capacity(top_count.min(64));
                    for _ in 0..top_count {
                        top_logprobs.push(TopLogprob {
                            token: reader.token("alternative token")?,
                            logprob: reader.logprob(as_f32)?,
                        });
                    }
                    positions.push(TokenLogprob {
                        token,
                        logprob,
                        top_logprobs,
                    });
                }
                Some(positions)
            }
        };
        choices.push(Choice {
            text,
            finish_reason,
            logprobs,
        });
    }
    if reader.at != bytes.len() {
        return Err(format!(
            "{} bytes left over after the response",
            bytes.len() - reader.at
        ));
    }
    Ok(ChatResponse {
        model,
        choices,
        usage,
    })
}

fn all_logprobs(response: &ChatResponse) -> impl Iterator<Item = f64> + '_ {
    response
        .choices
        .iter()
        .filter_map(|choice| choice.logprobs.as_deref())
        .flatten()
        .flat_map(|position| {
            std::iter::once(position.logprob)
                .chain(position.top_logprobs.iter().map(|top| top.logprob))
        })
}

fn put_varint(out: &mut Vec<u8>, mut value: u64) {
    while value >= 0x80 {
        out.push((value as u8) | 0x80);
        value >>= 7;
    }
    out.push(value as u8);
}

fn put_string(out: &mut Vec<u8>, text: &str) {
    match COMMON_TOKENS.iter().position(|common| *common == text) {
        Some(code) => put_varint(out, code as u64),
        None => {
            put_varint(out, text.len() as u64 + COMMON_TOKENS.len() as u64);
            out.extend_from_slice(text.as_bytes());
        }
    }
}

fn put_logprob(out: &mut Vec<u8>, value: f64, as_f32: bool) {
    if as_f32 {
        out.extend_from_slice(&(value as f32).to_le_bytes());
    } else {
        out.extend_from_slice(&value.to_le_bytes());
    }
}

struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, length: usize, what: &str) -> Result<&'a [u8], String> {
        let end = self
            .at
            .checked_add(length)
            .filter(|end| *end <= self.bytes.len())
            .ok_or_else(|| format!("cut short in {what} at byte {}", self.at))?;
        let taken = &self.bytes[self.at..end];
        self.at = end;
        Ok(taken)
    }

    fn byte(&mut self, what: &str) -> Result<u8, String> {
        Ok(self.take(1, what)?[0])
    }

    fn varint(&mut self, what: &str) -> Result<u64, String> {
        let mut value = 0u64;
        for shift in (0..64).step_by(7) {
            let byte = self.byte(what)?;
            value |= u64::from(byte & 0x7f) << shift;
            if byte & 0x80 == 0 {
                return Ok(value);
            }
        }
        Err(format!("an overlong number in {what} at byte {}", self.at))
    }

    fn count(&mut self, what: &str) -> Result<usize, String> {
        let count = self.varint(what)?;
        if count > MAX_COUNT {
            return Err(format!("{count} {what} is more than any response has"));
        }
        Ok(count as usize)
    }

    fn string(&mut self, what: &str) -> Result<String, String> {
        self.str(what).map(str::to_string)
    }

    /// A token's text, inline when short (no allocation for most tokens).
    fn token(&mut self, what: &str) -> Result<TokenText, String> {
        self.str(what).map(TokenText::from)
    }

    fn str(&mut self, what: &str) -> Result<&'a str, String> {
        let code = self.varint(what)?;
        if let Some(common) = COMMON_TOKENS.get(code as usize) {
            return Ok(common);
        }
        let length = usize::try_from(code - COMMON_TOKENS.len() as u64)
            .map_err(|_| format!("an absurd length in {what}"))?;
        let at = self.at;
        let bytes = self.take(length, what)?;
        std::str::from_utf8(bytes).map_err(|_| format!("{what} at byte {at} is not UTF-8"))
    }

    fn logprob(&mut self, as_f32: bool) -> Result<f64, String> {
        if as_f32 {
            let bytes = self.take(4, "a log-probability")?;
            Ok(f64::from(f32::from_le_bytes(
                bytes.try_into().expect("4 bytes"),
            )))
        } else {
            let bytes = self.take(8, "a log-probability")?;
            Ok(f64::from_le_bytes(bytes.try_into().expect("8 bytes")))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scoring(logprobs: &[(&str, f64)]) -> ChatResponse {
        ChatResponse {
            model: "grsu-user".into(),
            choices: vec![Choice {
                text: " Yes".into(),
                finish_reason: FinishReason::Length,
                logprobs: Some(vec![TokenLogprob {
                    token: " Yes".into(),
                    logprob: logprobs[0].1,
                    top_logprobs: logprobs
                        .iter()
                        .map(|(token, logprob)| TopLogprob {
                            token: (*token).into(),
                            logprob: *logprob,
                        })
                        .collect(),
                }]),
            }],
            usage: Usage {
                prompt_tokens: 812,
                completion_tokens: 1,
            },
        }
    }

    fn round_trip(response: &ChatResponse) -> (ChatResponse, usize) {
        let mut bytes = Vec::new();
        encode(response, &mut bytes);
        (decode(&bytes).expect("decodes"), bytes.len())
    }

    #[test]
    fn float32_logprobs_take_four_bytes_and_read_back_exactly() {
        let response = scoring(&[(" Yes", -0.15625), (" No", -1.9375), (" Maybe", -9999.0)]);
        let (back, length) = round_trip(&response);
        assert_eq!(back, response);
        // flags, model, usage (2 + 1), choices, text, finish, positions, token, 4, count, 3 × (1..7 + 4)
        assert_eq!(
            length,
            1 + 10 + 3 + 1 + 1 + 1 + 1 + 1 + 4 + 1 + (1 + 4) * 2 + (7 + 4)
        );
    }

    #[test]
    fn other_doubles_keep_every_bit() {
        let values = [
            -0.09845026582479477,
            -2.367025136947632e-300,
            f64::NEG_INFINITY,
            -0.0,
            f64::NAN,
            0.5,
        ];
        let response = scoring(
            &values
                .iter()
                .map(|value| (" Yes", *value))
                .collect::<Vec<_>>(),
        );
        let (back, _) = round_trip(&response);
        let bits = |response: &ChatResponse| -> Vec<u64> {
            all_logprobs(response).map(f64::to_bits).collect()
        };
        assert_eq!(bits(&back), bits(&response));
    }

    #[test]
    fn texts_finish_reasons_and_missing_logprobs_survive() {
        let response = ChatResponse {
            model: "phi-4".into(),
            choices: vec![
                Choice {
                    text: "1. Heat (1995)\n2. Am\u{e9}lie (2001)".into(),
                    finish_reason: FinishReason::Stop,
                    logprobs: None,
                },
                Choice {
                    text: String::new(),
                    finish_reason: FinishReason::Other("content_filter".into()),
                    logprobs: Some(Vec::new()),
                },
            ],
            usage: Usage {
                prompt_tokens: u64::MAX,
                completion_tokens: 0,
            },
        };
        assert_eq!(round_trip(&response).0, response);
    }

    #[test]
    fn damaged_bytes_are_errors_never_panics() {
        let mut bytes = Vec::new();
        encode(
            &scoring(&[(" Yes", -0.25), (" No", -1.5), ("maybe", -3.0)]),
            &mut bytes,
        );
        for cut in 0..bytes.len() {
            assert!(decode(&bytes[..cut]).is_err(), "cut at {cut}");
        }
        let mut longer = bytes.clone();
        longer.push(0);
        assert!(decode(&longer).unwrap_err().contains("left over"));
        assert!(decode(&[0x80]).unwrap_err().contains("unknown flags"));
        // A count of 2^40 choices is refused before anything is allocated for it.
        let mut absurd = vec![0, 0, 0, 0];
        put_varint(&mut absurd, 1 << 40);
        assert!(decode(&absurd)
            .unwrap_err()
            .contains("more than any response has"));
        for position in 0..bytes.len() {
            for bit in 0..8 {
                let mut flipped = bytes.clone();
                flipped[position] ^= 1 << bit;
                let _ = decode(&flipped);
            }
        }
    }
}
