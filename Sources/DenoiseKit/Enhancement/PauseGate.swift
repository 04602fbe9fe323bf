import Foundation

/// The pauses brought further down (`run`'s default for files, `--no-pause-gate`): a downward
/// expander on the cleaned frames.
///
/// The mask leaves a low residue in the pauses (noise the speech atoms explain); listeners and
/// DNSMOS hear it as background. Each cleaned frame whose energy in 250–4000 Hz is more than
/// 24 dB under the recording's loud speech (the 95th percentile of its speech estimate's frames
/// there, measured before cleaning) and of which the mask kept less than −2 dB of the energy is
/// turned down, to `floorGain` (−30 dB) at `closedBelow` = 30 dB under and −6 dB kept. Quiet
/// speech (a far talker 38 dB under the loud one) is kept by the mask, so the gate leaves it alone.
/// Causal, so it costs no latency: a frame at speech level opens the gate at once (an onset is never
/// cut), and the gate stays open `holdFrames` frames after the last such frame, then closes by
/// `release` per frame (word endings and their decays are kept).
///
/// Chosen on the real recordings and xrec (README, "Quality"): DNSMOS BAK 3.33 → 3.48 and OVRL
/// 2.66 → 2.73 at the same SIG (by level alone 3.46 / 2.72, but a talker 38 dB under the loud one
/// lost 6 dB); on xrec ΔSI-SDR and ΔSTOI unchanged, ΔPESQ −0.01. In low-SNR recordings (the air
/// conditioners) the pauses' residue is within 30 dB of the speech and the gate hardly acts.
public struct PauseGate: Sendable, Equatable {
    /// How far (dB) below the loud speech a frame is turned down to `floorGain`, and over how many
    /// dB above that the gate opens fully.
    public static let closedBelow: Float = 30, ramp: Float = 6
    public static let floorGain: Float = 0.03
    static let holdFrames = 6
    static let release: Float = 0.7
    static let band = 250.0..<4000.0
    /// Share of a frame's energy (dB) the mask keeps at or under which it may be turned down, and from
    /// which it is left alone whatever its level: quiet speech (a far talker, an aside) is kept by the
    /// mask and so by the gate; the residue of a pause is what the mask mostly took away.
    public static let keptClosed: Float = -6, keptOpen: Float = -2
    static let referenceQuantile = 0.95

    /// Energy (Σ of squared magnitudes over the band's bins) of a frame of loud speech; 0 when it
    /// is tracked as the stream goes (`tracking`).
    public let reference: Float
    /// Whether the loud speech's level is tracked from each frame's speech estimate.
    public var tracksReference: Bool { reference == 0 }
    /// The band's STFT bins.
    let bins: Range<Int>

    /// A gate for loud speech of band energy `reference`, on an STFT of `nFFT` at `sampleRate`.
    public init(reference: Float, nFFT: Int, sampleRate: Int) throws(DenoiseError) {
        guard reference > 0, reference.isFinite else {
            throw .invalidParameter("the pause gate's reference level must be positive and finite (got \(reference))")
        }
        self.reference = reference
        bins = Self.bandBins(nFFT: nFFT, sampleRate: sampleRate)
    }

    private init(trackingFor nFFT: Int, sampleRate: Int) {
        reference = 0
        bins = Self.bandBins(nFFT: nFFT, sampleRate: sampleRate)
    }

    /// A gate for a stream, which cannot be measured beforehand: the loud speech's level is the
    /// speech estimate's band energy followed up by `trackedRise` dB and down by `trackedFall` dB a
    /// frame (16 ms: about its 95th percentile over the last seconds, as the file's gate takes it
    /// over the recording), and never left more than `closedBelow` dB under a frame (after digital
    /// silence). At a stream's start it rises to the first speech within about half a second, the
    /// gate staying open meanwhile.
    public static func tracking(nFFT: Int, sampleRate: Int) -> PauseGate { PauseGate(trackingFor: nFFT, sampleRate: sampleRate) }
    static let trackedRise: Float = 1, trackedFall: Float = 0.05

    /// The STFT bins of `band` for an STFT of `nFFT` at `sampleRate`.
    static func bandBins(nFFT: Int, sampleRate: Int) -> Range<Int> {
        let binWidth = Double(sampleRate) / Double(nFFT)
        return Int((band.lowerBound / binWidth).rounded(.up))..<min(Int((band.upperBound / binWidth).rounded(.up)), nFFT / 2 + 1)
    }

    /// The gate of `denoiser` measured on `speech` [bins × frames], its speech estimate of the
    /// recording (`Denoiser.speechEstimate(ofBeginning:)`); nil when it has no frames or no energy
    /// in the band.
    public static func measured(on speech: Matrix, denoiser: Denoiser) -> PauseGate? {
        let nFFT = denoiser.stft.nFFT, sampleRate = denoiser.sampleRate, bins = bandBins(nFFT: nFFT, sampleRate: sampleRate)
        guard speech.cols > 0 else { return nil }
        var energies = (0..<speech.cols).map { t in
            speech.storage.withUnsafeBufferPointer { denoiser.speechBandEnergy($0.baseAddress! + t * speech.rows, bins: bins) }
        }
        let rank = min(Int(Double(energies.count) * referenceQuantile), energies.count - 1)
        return try? PauseGate(reference: energies.select(rank), nFFT: nFFT, sampleRate: sampleRate)
    }

    /// A stream's gate state: the last `holdFrames` openings and the last gain; the tracked loud
    /// speech's band energy (0 before the first frame).
    struct State {
        var recent = [Float](repeating: 1, count: PauseGate.holdFrames)
        var next = 0
        var opening: Float = 1
        var tracked: Float = 0
    }

    /// The tracked reference after a frame whose speech estimate has band energy `e`.
    static func track(_ reference: Float, _ e: Float) -> Float {
        guard reference > 0 else { return e }
        guard e > reference else { return reference * fallFactor }
        return max(reference * riseFactor, e * powf(10, -closedBelow / 10))
    }
    private static let riseFactor = powf(10, trackedRise / 10), fallFactor = powf(10, -trackedFall / 10)

    /// Each of `frames` spectra's energy in the band (`re`, `im`, [bins × frames], leading dimension
    /// `rows`), into `energy`: the gate compares the cleaned frames' with the input's.
    func bandEnergy(re: UnsafePointer<Float>, im: UnsafePointer<Float>, rows: Int, frames: Int, into energy: UnsafeMutablePointer<Float>) {
        for t in 0..<frames { energy[t] = bandEnergy(re + t * rows, im + t * rows) }
    }

    /// One spectrum's energy in the band.
    @inline(__always) private func bandEnergy(_ r: UnsafePointer<Float>, _ i: UnsafePointer<Float>) -> Float {
        var e: Float = 0
        for f in bins { e += r[f] * r[f] + i[f] * i[f] }
        return e
    }

    /// Turns down the pauses among `frames` cleaned spectra (`re`, `im`, [bins × frames], leading
    /// dimension `rows`) whose band energies before the mask were `input`, in time order,
    /// continuing from `state`. A tracking gate needs the frames' speech estimates' band energies
    /// (`speech`).
    func apply(re: UnsafeMutablePointer<Float>, im: UnsafeMutablePointer<Float>, rows: Int, frames: Int,
               input: UnsafePointer<Float>, speech: UnsafePointer<Float>? = nil, state: inout State) {
        precondition(!tracksReference || speech != nil, "a tracking gate needs the frames' speech energies")
        let below = powf(10, -Self.closedBelow / 10)
        var closed = reference * below
        for t in 0..<frames {
            if tracksReference, let speech {
                state.tracked = Self.track(state.tracked, speech[t])
                closed = state.tracked * below
            }
            let r = re + t * rows, i = im + t * rows
            let energy = bandEnergy(r, i)
            // By level: 0 at or under `closed`, 1 from `ramp` dB above it. By the share kept: 0 at or
            // under `keptClosed`, 1 from `keptOpen`. The frame is turned down only if both say so.
            let above = energy > 0 ? 10 * log10f(energy / closed) : 0
            let kept = energy > 0 && input[t] > 0 ? 10 * log10f(energy / input[t]) : Self.keptClosed
            let byLevel = min(max(above / Self.ramp, 0), 1)
            let byShare = min(max((kept - Self.keptClosed) / (Self.keptOpen - Self.keptClosed), 0), 1)
            let now = max(byLevel, byShare)
            var held = now
            for p in state.recent { held = max(held, p) }
            state.recent[state.next] = now
            state.next = (state.next + 1) % state.recent.count
            state.opening = max(held, state.opening * Self.release)
            let gain = Self.floorGain + (1 - Self.floorGain) * state.opening
            guard gain < 1 else { continue }
            for f in 0..<rows { r[f] *= gain; i[f] *= gain }
        }
    }
}

extension Denoiser {
    /// A speech estimate's energy over `bins` (the gate's band), brought back from the mask bases'
    /// scale (a scale of their own per bin) to the dictionary's, that of the spectra.
    func speechBandEnergy(_ s: UnsafePointer<Float>, bins: Range<Int>) -> Float {
        var e: Float = 0
        for f in bins where speechScale[f] > 0 {
            let m = s[f] / speechScale[f]
            e += m * m
        }
        return e
    }

    /// The speech estimate S [bins × frames] of the first `SteadyNoise.excerptSeconds` of `signal`
    /// (one channel at the model's rate): what the steady floor and the pause gate are measured on.
    public func speechEstimate(ofBeginning signal: [Float]) -> Matrix {
        fitBeginning(signal, isWhole: false).speech
    }

    /// This model with `gate` applied to its cleaned frames.
    public func withPauseGate(_ gate: PauseGate?) throws(DenoiseError) -> Denoiser {
        try rebuilt { $0.pauseGate = gate }
    }
}
