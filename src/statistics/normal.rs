//! The standard normal distribution's two-sided tail, for the Wilcoxon test's normal
//! approximation: p = 2 Φ(−|z|) = erfc(|z| / √2).
//!
//! `erfc` is FreeBSD's `s_erf.c` (by way of the `libm` crate's port), accurate to about one unit
//! in the last place, which is what SciPy's `ndtr` (Cephes) gives too. `statrs`' `erfc` is off
//! by about 1e-10 relative (its constants are the Boost ones without their rounding to single
//! precision), which is why it is not used here.
//!
//! ```text
//! ====================================================
//! Copyright (C) 1993 by Sun Microsystems, Inc. All rights reserved.
//!
//! Developed at SunPro, a Sun Microsystems, Inc. business.
//! Permission to use, copy, modify, and distribute this
//! software is freely granted, provided that this notice
//! is preserved.
//! ====================================================
//! ```

// The coefficients are written as published, with more digits than an f64 holds.
#![allow(clippy::excessive_precision)]

/// P(|Z| ≥ |z|) for a standard normal Z: erfc(|z| / √2) (NaN for NaN).
pub fn normal_two_sided_p(z: f64) -> f64 {
    erfc(z.abs() / std::f64::consts::SQRT_2).min(1.0)
}

const ERX: f64 = 8.45062911510467529297e-01;
const PP0: f64 = 1.28379167095512558561e-01;
const PP1: f64 = -3.25042107247001499370e-01;
const PP2: f64 = -2.84817495755985104766e-02;
const PP3: f64 = -5.77027029648944159157e-03;
const PP4: f64 = -2.37630166566501626084e-05;
const QQ1: f64 = 3.97917223959155352819e-01;
const QQ2: f64 = 6.50222499887672944485e-02;
const QQ3: f64 = 5.08130628187576562776e-03;
const QQ4: f64 = 1.32494738004321644526e-04;
const QQ5: f64 = -3.96022827877536812320e-06;
const PA0: f64 = -2.36211856075265944077e-03;
const PA1: f64 = 4.14856118683748331666e-01;
const PA2: f64 = -3.72207876035701323847e-01;
const PA3: f64 = 3.18346619901161753674e-01;
const PA4: f64 = -1.10894694282396677476e-01;
const PA5: f64 = 3.54783043256182359371e-02;
const PA6: f64 = -2.16637559486879084300e-03;
const QA1: f64 = 1.06420880400844228286e-01;
const QA2: f64 = 5.40397917702171048937e-01;
const QA3: f64 = 7.18286544141962662868e-02;
const QA4: f64 = 1.26171219808761642112e-01;
const QA5: f64 = 1.36370839120290507362e-02;
const QA6: f64 = 1.19844998467991074170e-02;
const RA0: f64 = -9.86494403484714822705e-03;
const RA1: f64 = -6.93858572707181764372e-01;
const RA2: f64 = -1.05586262253232909814e+01;
const RA3: f64 = -6.23753324503260060396e+01;
const RA4: f64 = -1.62396669462573470355e+02;
const RA5: f64 = -1.84605092906711035994e+02;
const RA6: f64 = -8.12874355063065934246e+01;
const RA7: f64 = -9.81432934416914548592e+00;
const SA1: f64 = 1.96512716674392571292e+01;
const SA2: f64 = 1.37657754143519042600e+02;
const SA3: f64 = 4.34565877475229228821e+02;
const SA4: f64 = 6.45387271733267880336e+02;
const SA5: f64 = 4.29008140027567833386e+02;
const SA6: f64 = 1.08635005541779435134e+02;
const SA7: f64 = 6.57024977031928170135e+00;
const SA8: f64 = -6.04244152148580987438e-02;
const RB0: f64 = -9.86494292470009928597e-03;
const RB1: f64 = -7.99283237680523006574e-01;
const RB2: f64 = -1.77579549177547519889e+01;
const RB3: f64 = -1.60636384855821916062e+02;
const RB4: f64 = -6.37566443368389627722e+02;
const RB5: f64 = -1.02509513161107724954e+03;
const RB6: f64 = -4.83519191608651397019e+02;
const SB1: f64 = 3.03380607434824582924e+01;
const SB2: f64 = 3.25792512996573918826e+02;
const SB3: f64 = 1.53672958608443695994e+03;
const SB4: f64 = 3.19985821950859553908e+03;
const SB5: f64 = 2.55305040643316442583e+03;
const SB6: f64 = 4.74528541206955367215e+02;
const SB7: f64 = -2.24409524465858183362e+01;

fn high_word(x: f64) -> u32 {
    (x.to_bits() >> 32) as u32
}

/// `x` with the low 32 bits of its representation cleared.
fn without_low_word(x: f64) -> f64 {
    f64::from_bits(x.to_bits() & 0xFFFF_FFFF_0000_0000)
}

/// erfc for 0.84375 ≤ |x| < 1.25.
fn erfc1(x: f64) -> f64 {
    let s = x.abs() - 1.0;
    let p = PA0 + s * (PA1 + s * (PA2 + s * (PA3 + s * (PA4 + s * (PA5 + s * PA6)))));
    let q = 1.0 + s * (QA1 + s * (QA2 + s * (QA3 + s * (QA4 + s * (QA5 + s * QA6)))));
    1.0 - ERX - p / q
}

/// erfc for 0.84375 ≤ |x| < 28, x > 0.
fn erfc2(high: u32, x: f64) -> f64 {
    if high < 0x3ff4_0000 {
        // |x| < 1.25
        return erfc1(x);
    }
    let x = x.abs();
    let s = 1.0 / (x * x);
    let (r, big_s) = if high < 0x4006_db6d {
        // |x| < 1/0.35
        (
            RA0 + s * (RA1 + s * (RA2 + s * (RA3 + s * (RA4 + s * (RA5 + s * (RA6 + s * RA7)))))),
            1.0 + s
                * (SA1
                    + s * (SA2
                        + s * (SA3 + s * (SA4 + s * (SA5 + s * (SA6 + s * (SA7 + s * SA8))))))),
        )
    } else {
        (
            RB0 + s * (RB1 + s * (RB2 + s * (RB3 + s * (RB4 + s * (RB5 + s * RB6))))),
            1.0 + s * (SB1 + s * (SB2 + s * (SB3 + s * (SB4 + s * (SB5 + s * (SB6 + s * SB7)))))),
        )
    };
    let z = without_low_word(x);
    (-z * z - 0.5625).exp() * ((z - x) * (z + x) + r / big_s).exp() / x
}

/// The complementary error function, 1 − erf(x).
pub fn erfc(x: f64) -> f64 {
    let bits = high_word(x);
    let negative = bits >> 31 != 0;
    let high = bits & 0x7fff_ffff;
    if high >= 0x7ff0_0000 {
        // erfc(NaN) = NaN, erfc(+∞) = 0, erfc(−∞) = 2.
        return if x.is_nan() {
            x
        } else if negative {
            2.0
        } else {
            0.0
        };
    }
    if high < 0x3feb_0000 {
        // |x| < 0.84375
        if high < 0x3c70_0000 {
            // |x| < 2^-56
            return 1.0 - x;
        }
        let z = x * x;
        let r = PP0 + z * (PP1 + z * (PP2 + z * (PP3 + z * PP4)));
        let s = 1.0 + z * (QQ1 + z * (QQ2 + z * (QQ3 + z * (QQ4 + z * QQ5))));
        let y = r / s;
        return if negative || high < 0x3fd0_0000 {
            // x < 1/4
            1.0 - (x + x * y)
        } else {
            0.5 - (x - 0.5 + x * y)
        };
    }
    if high < 0x403c_0000 {
        // 0.84375 ≤ |x| < 28
        return if negative {
            2.0 - erfc2(high, x)
        } else {
            erfc2(high, x)
        };
    }
    let tiny = f64::from_bits(0x0010_0000_0000_0000);
    if negative {
        2.0 - tiny
    } else {
        tiny * tiny
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn erfc_matches_scipy() {
        // scipy.special.erfc(x) (SciPy 1.17.1), printed with repr().
        for (x, expected) in [
            (0.0, 1.0),
            (0.1, 0.8875370839817152),
            (0.3, 0.6713732405408726),
            (0.5, 0.4795001221869535),
            (0.6, 0.3961439091520742),
            (1.0, 0.15729920705028516),
            (1.3, 0.06599205505934758),
            (2.2, 0.00186284629798189),
            (3.0, 2.2090496998585445e-05),
            (4.5, 1.9661604415428878e-10),
            (6.0, 2.1519736712498913e-17),
            (9.0, 4.137031746513811e-37),
            (-0.5, 1.5204998778130465),
            (-2.2, 1.998137153702018),
        ] {
            let got = erfc(x);
            assert!(
                ((got - expected) / expected).abs() < 4.0 * f64::EPSILON,
                "erfc({x}) = {got:e}, SciPy {expected:e}"
            );
        }
        assert_eq!(erfc(f64::INFINITY), 0.0);
        assert_eq!(erfc(f64::NEG_INFINITY), 2.0);
        assert!(erfc(f64::NAN).is_nan());
    }

    #[test]
    fn the_two_sided_tail_matches_scipy() {
        // 2 * scipy.special.ndtr(-z).
        for (z, expected) in [
            (0.7704982454062712, 0.44100439543635783),
            (1.959963984540054, 0.05),
            (-3.0360497926887335, 0.0023969977646286452),
            (0.0, 1.0),
        ] {
            let got = normal_two_sided_p(z);
            assert!(
                ((got - expected) / expected).abs() < 1e-14,
                "z = {z}: {got:e}, SciPy {expected:e}"
            );
        }
    }
}
