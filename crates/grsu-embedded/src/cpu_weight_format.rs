//! Unpacking the quantized weights into plain f32 at load time.
//!
//! The SmolLM2 file we ship is Q4_1 (with a Q8_0 embedding), and candle has only scalar code for
//! Q4_1 on x86: read that way, a 300-token prompt takes about 15 s on two cores. Unpacked to f32,
//! the same weights go through candle's f32 matrix multiplication (gemm): the prompt takes under
//! 2 s, decoding runs at about 20 tokens/s (as before), and memory grows from 100 MB to about
//! 550 MB.
//!
//! f32 holds the quantized values exactly and leaves the activations unquantized, so the
//! log-probabilities are those of the published weights computed exactly. The alternatives tried
//! both moved them: candle's quantized kernels quantize activations to 8 bits (about 0.1 nats on a
//! scoring prompt), and re-quantizing to Q8_0 for its AVX2 kernel (three times faster decoding)
//! about 0.2 nats, enough to swap " Yes" and " No", whose probabilities are what this model scores.
//!
//! candle's Llama loader only reads GGUF, so the unpacked tensors are written to an in-memory GGUF
//! image that the loader then reads like a file (the image is dropped once the model is built).

use std::io::{Cursor, Read, Seek};

use candle_core::quantized::{gguf_file, GgmlDType, QTensor};
use candle_core::Device;

use crate::candle_error;
use grsu::model::ModelError;

/// Whether tensors of `dtype` are quantized, i.e. not plain floats.
fn is_quantized(dtype: GgmlDType) -> bool {
    !matches!(dtype, GgmlDType::F32 | GgmlDType::F16 | GgmlDType::BF16)
}

/// Whether `content` holds quantized tensors.
pub fn has_quantized_weights(content: &gguf_file::Content) -> bool {
    content
        .tensor_infos
        .values()
        .any(|info| is_quantized(info.ggml_dtype))
}

/// An in-memory GGUF image of `content` (read through `reader`) with every quantized tensor
/// unpacked to f32, and its parsed header.
pub fn unpack_to_f32<R: Read + Seek>(
    content: &gguf_file::Content,
    reader: &mut R,
) -> Result<(gguf_file::Content, Cursor<Vec<u8>>), ModelError> {
    let mut names: Vec<&String> = content.tensor_infos.keys().collect();
    names.sort();
    let mut tensors: Vec<(&str, QTensor)> = Vec::with_capacity(names.len());
    for name in names {
        let tensor = content
            .tensor(reader, name, &Device::Cpu)
            .map_err(candle_error)?;
        let tensor = if is_quantized(tensor.dtype()) {
            let values = tensor.dequantize(&Device::Cpu).map_err(candle_error)?;
            QTensor::quantize(&values, GgmlDType::F32).map_err(candle_error)?
        } else {
            tensor
        };
        tensors.push((name, tensor));
    }

    let mut metadata: Vec<(&str, &gguf_file::Value)> = content
        .metadata
        .iter()
        .map(|(key, value)| (key.as_str(), value))
        .collect();
    metadata.sort_by_key(|(key, _)| *key);
    let tensor_refs: Vec<(&str, &QTensor)> = tensors
        .iter()
        .map(|(name, tensor)| (*name, tensor))
        .collect();
    let mut image = Cursor::new(Vec::new());
    gguf_file::write(&mut image, &metadata, &tensor_refs).map_err(candle_error)?;
    image.set_position(0);
    let converted = gguf_file::Content::read(&mut image).map_err(candle_error)?;
    Ok((converted, image))
}
