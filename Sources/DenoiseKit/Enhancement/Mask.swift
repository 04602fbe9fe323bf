import Foundation

/// X ← X · max((Sᵖ / (Sᵖ + Nᵖ))ᵞ, floor); where both estimates vanish (or are not numbers) the gain
/// is the floor, never NaN. The ratio is written over `speech` first (it is not needed afterwards),
/// then shaped by γ, then applied: each pass a plain loop, with the common powers spelled out (powf
/// costs ~1 s on a 10-minute file).
func applyMask(speech s: UnsafeMutablePointer<Float>, noise n: UnsafePointer<Float>, power p: Float, exponent: Float, floor: Float,
               count: Int, re: UnsafeMutablePointer<Float>, im: UnsafeMutablePointer<Float>) {
    let tiny = Float.leastNormalMagnitude
    @inline(__always) func ratio(_ a: Float, _ b: Float) -> Float { a / max(a + b, tiny) }
    switch p {
    case 1: for i in 0..<count { s[i] = ratio(s[i], n[i]) }
    case 2: for i in 0..<count { s[i] = ratio(s[i] * s[i], n[i] * n[i]) }
    case 3: for i in 0..<count { s[i] = ratio(s[i] * s[i] * s[i], n[i] * n[i] * n[i]) }
    default: for i in 0..<count { s[i] = ratio(powf(s[i], p), powf(n[i], p)) }
    }
    switch exponent {
    case 1: break
    case 1.25: for i in 0..<count { s[i] *= s[i].squareRoot().squareRoot() }
    case 1.5: for i in 0..<count { s[i] *= s[i].squareRoot() }
    case 2: for i in 0..<count { s[i] *= s[i] }
    default: for i in 0..<count { s[i] = powf(s[i], exponent) }
    }
    for i in 0..<count {
        // The last guard: a gain is in [floor, 1] whatever the estimates were (NaN from a
        // pathological dictionary included), so finite input can only give finite output.
        let m = s[i]
        let g = m >= floor ? min(m, 1) : floor
        re[i] *= g
        im[i] *= g
    }
}
