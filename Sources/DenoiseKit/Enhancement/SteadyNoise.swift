import Foundation

/// The steady noise the speech atoms explain (`run`'s default for files, `--no-steady-floor`).
///
/// Noise that no dictionary holds is partly explained by the speech atoms, and the mask keeps it:
/// the speech estimate S never falls to zero in the bins the noise fills, even in the pauses.
/// Speech itself comes and goes in every bin, so the low quantile of S over a recording's frames
/// is the part of the noise the speech atoms took. Before the mask, each frame's noise estimate gets,
/// per bin, its speech estimate up to that floor (weighted): N + min(S, floor); S stays as it is.
///
/// Chosen on xrec (other recordings than any training saw) and the real recordings: counting 2 × the
/// 5 % quantile raised ΔSI-SDR from +4.10 to +4.96 dB and ΔPESQ from +0.21 to +0.26 (ΔSTOI −0.002),
/// and DNSMOS BAK from 2.96 to 3.17 at equal SIG; taking the floor out of S instead (S − floor) gained
/// as much SI-SDR but lost SIG (3.28 → 3.19), PESQ and STOI (README, "Quality").
public enum SteadyNoise {
    /// The quantile of the speech estimate over frames taken as its steady part.
    public static let quantile = 0.05
    /// How much of that floor is counted as noise.
    public static let weight: Float = 2
    /// Seconds of the recording (its beginning) the floor is measured on.
    public static let excerptSeconds = 60.0

    /// Per bin, `weight` × the `quantile` over the frames of `s` (a speech estimate [bins ×
    /// frames], `Denoiser.speechEstimate(ofBeginning:)`); nil when it has no frames.
    public static func floor(of s: Matrix, quantile: Double = quantile, weight: Float = weight) -> [Float]? {
        guard s.cols > 0 else { return nil }
        return s.rowQuantiles(quantile).map { weight * $0 }
    }

    /// `floor(of:)` of `denoiser`'s speech estimate of the beginning of `signal` (one channel at the
    /// model's rate).
    public static func floor(of signal: [Float], denoiser: Denoiser, quantile: Double = quantile,
                             weight: Float = weight) -> [Float]? {
        floor(of: denoiser.speechEstimate(ofBeginning: signal), quantile: quantile, weight: weight)
    }
}

extension SteadyNoise {
    /// The floor of a stream, which cannot be measured beforehand (`run` on `-`, a `DenoiserStream`
    /// of a denoiser made with `tracksSteadyNoise`): per bin, the minimum of the speech estimate
    /// (smoothed over frames) over the last `trackedWindowSeconds`, by minimum statistics (Martin
    /// 2001: the window's minimum as the smallest of `subwindows` sub-windows' minima, a few values
    /// per bin). A minimum, unlike a quantile tracker, forgets a start in digital silence once the
    /// window has passed it.
    ///
    /// Chosen on xrec and the real recordings (README, "Streams"): against the plain stream, weight
    /// 1 over 1.5 s gave ΔSI-SDR +0.72 dB, ΔPESQ +0.026, ΔSTOI −0.002 (the files' floor costs as
    /// much) and DNSMOS BAK +0.25, OVRL +0.11; weight 2 cost twice the STOI, a 3 s window kept less
    /// of the gain (+0.57 dB, BAK +0.19).
    public static let trackedWindowSeconds = 1.5
    static let subwindows = 6
    /// Smoothing of the speech estimate over frames before its minimum (Martin's fixed α).
    static let smoothing: Float = 0.7
    /// How much of the tracked minimum is counted as noise.
    public static let trackedWeight: Float = 1

    /// One stream's floor state: the smoothed estimate, the running sub-window's minimum, and the
    /// last `subwindows` − 1 finished sub-windows' minima (a ring) with their minimum.
    struct Tracker {
        let bins: Int, subwindowFrames: Int
        var smoothed: [Float], current: [Float], finished: [Float], finishedMinimum: [Float]
        var frame = 0, next = 0

        init(bins: Int, frameRate: Double) {
            self.bins = bins
            subwindowFrames = max(Int((SteadyNoise.trackedWindowSeconds * frameRate / Double(SteadyNoise.subwindows)).rounded()), 1)
            smoothed = [Float](repeating: 0, count: bins)
            current = [Float](repeating: .infinity, count: bins)
            finished = [Float](repeating: .infinity, count: bins * (SteadyNoise.subwindows - 1))
            finishedMinimum = current
        }

        /// Takes the speech estimate `s` [bins] of the next frame and adds its floor's share to the
        /// frame's noise estimate `n` [bins]: N + min(S, weight × floor).
        mutating func add(speech s: UnsafePointer<Float>, to n: UnsafeMutablePointer<Float>) {
            let a = frame == 0 ? 0 : SteadyNoise.smoothing, w = SteadyNoise.trackedWeight, bins = bins
            smoothed.withUnsafeMutableBufferPointer { smoothed in
            current.withUnsafeMutableBufferPointer { current in
            finishedMinimum.withUnsafeBufferPointer { finishedMinimum in
                for f in 0..<bins {
                    let p = a * smoothed[f] + (1 - a) * s[f]
                    smoothed[f] = p
                    let m = min(current[f], p)
                    current[f] = m
                    n[f] += min(s[f], w * min(m, finishedMinimum[f]))
                }
            }}}
            frame += 1
            guard frame % subwindowFrames == 0 else { return }
            // A sub-window ends: it replaces the oldest in the ring, and the ring's minimum is taken again.
            let slots = SteadyNoise.subwindows - 1
            for f in 0..<bins { finished[next * bins + f] = current[f]; current[f] = .infinity; finishedMinimum[f] = .infinity }
            next = (next + 1) % slots
            for k in 0..<slots { for f in 0..<bins { finishedMinimum[f] = min(finishedMinimum[f], finished[k * bins + f]) } }
        }
    }
}

extension Denoiser {
    /// The mask's speech estimate S [bins × frames] from activations `h` [rank × frames]:
    /// S_t = Σ_o A_o · H[speech rows](t + o), frames outside `h` counting as silent.
    func speechEstimate(activations h: Matrix) -> Matrix {
        let rows = speechEstimate.rows, ks = rows.count, frames = h.cols
        var s = Matrix(rows: speechEstimate.bases.rows, cols: frames)
        for (block, offset) in context.offsets.enumerated() {
            var shifted = Matrix(rows: ks, cols: frames)
            for t in max(0, -offset)..<max(max(0, -offset), min(frames, frames - offset)) {
                for k in 0..<ks { shifted.storage[t * ks + k] = h.storage[(t + offset) * h.rows + rows.lowerBound + k] }
            }
            let part = Matrix.product(speechEstimate.bases.columns((block * ks)..<((block + 1) * ks)), shifted)
            for i in s.storage.indices { s.storage[i] += part.storage[i] }
        }
        return s
    }

    /// This model with `floor` (per bin, `SteadyNoise.floor`) added to its noise estimate.
    public func withSteadyNoise(_ floor: [Float]) throws(DenoiseError) -> Denoiser {
        try rebuilt { $0.steadyNoise = floor; $0.tracksSteadyNoise = false }
    }

    /// This model for a stream, which cannot be measured beforehand: its steady floor and pause
    /// gate (each as asked) tracked as the stream goes.
    public func tracking(steadyFloor: Bool = true, pauseGate: Bool = true) throws(DenoiseError) -> Denoiser {
        try rebuilt { parts in
            parts.steadyNoise = nil
            parts.tracksSteadyNoise = steadyFloor
            parts.pauseGate = pauseGate ? .tracking(nFFT: stft.nFFT, sampleRate: sampleRate) : nil
        }
    }
}
