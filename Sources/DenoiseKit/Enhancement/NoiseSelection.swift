import Foundation

/// Chooses, for one recording, the noise dictionary that explains it best (`run --noise auto`).
///
/// Every candidate is fitted with the speech dictionary, as `run` solves a block: H for
/// V ≈ [W_speech W_candidate]·H, and the fit is d(V ‖ WH) on every bin. The speech part is the
/// same for all candidates, so what differs is how well each explains the noise (in the band the
/// input holds, when `options.bandwidth` limits it). A dictionary of
/// a specific type must fit clearly better than the general one to be chosen (`margin`): with more
/// atoms the general model fits unknown noise at least as well, and it is the safe choice for it.
public enum NoiseSelection {
    public struct Choice: Sendable {
        /// Index into the candidates.
        public var index: Int
        /// d(V ‖ WH) per frame for each candidate, in the candidates' order.
        public var costs: [Double]
    }

    /// How much better than the general model a type must fit to be chosen (its share of the
    /// general model's cost). Learned on xrec, with every type's model trained without its
    /// recordings: with no margin the choice lost 0.5 dB SI-SDR against the general model (+4.48
    /// against +4.96); from 2 % on it never took a type there and equals it.
    public static let margin = 0.02

    /// Seconds of the recording the choice looks at (its beginning).
    public static let excerptSeconds = 10.0
    /// Every how many frames of the excerpt are fitted. Neighbouring frames overlap by 3/4 and say
    /// nearly the same about the noise: on the 128 xrec and dev files, fitting every 4th frame chose
    /// as fitting all did for 123 (every 8th: 119; all frames with 20 iterations instead of 40: 107),
    /// at a quarter of the time.
    public static let frameStride = 4

    /// The best candidate for `signal` (one channel at the speech dictionary's rate); candidate 0 is
    /// the general model, chosen unless another fits better by `margin`.
    public static func choose(_ signal: [Float], speech: SpectralDictionary, candidates: [SpectralDictionary],
                              options: DenoiserOptions = DenoiserOptions()) throws(DenoiseError) -> Choice {
        guard !candidates.isEmpty else { throw .invalidParameter("at least one noise dictionary is needed") }
        try Denoiser.checkCompatible([speech] + candidates)
        let stft = try STFT(speech.stft)
        let excerpt = Array(signal.prefix(Int(excerptSeconds * Double(speech.sampleRate))))
        let all = BetaDivergence.floored(stft.forward(excerpt).magnitude(exponent: speech.spectrumExponent))
        let v = all.columns(at: Array(stride(from: 0, to: all.cols, by: frameStride)))
        // Candidates are fitted in parallel, one thread each.
        var single = options
        single.threads = 1
        let solo = single, shared = UnsafeSendable(v)
        let results = UnsafeSendable(UnsafeMutableBufferPointer<Double>.allocate(capacity: candidates.count))
        defer { results.value.deallocate() }
        BLAS.withThreads(1) {
        DispatchQueue.concurrentPerform(iterations: candidates.count) { i in
            let plain = candidates[i].withoutMaskBases
            guard let denoiser = try? Denoiser(speech: speech, noise: [plain], options: solo) else {
                results.value[i] = .infinity
                return
            }
            let v = shared.value
            let h = denoiser.activations(v)
            // The fit is judged where the solve looked: the band the input holds.
            let bins = denoiser.solvedBins
            let model = Matrix.product(Matrix.hstack([speech.atoms, plain.atoms]).rows(0..<bins), h)
            results.value[i] = BetaDivergence(beta: speech.beta).cost(bins < v.rows ? v.rows(0..<bins) : v, model) / Double(max(v.cols, 1))
        }
        }
        let costs = Array(results.value)
        let best = costs.indices.min { costs[$0] < costs[$1] } ?? 0
        return Choice(index: costs[best] < costs[0] * (1 - margin) ? best : 0, costs: costs)
    }

    /// `choose` on the beginning of an audio file (mixed down, converted to the model's rate).
    public static func choose(forFile path: String, speech: SpectralDictionary, candidates: [SpectralDictionary],
                              options: DenoiserOptions = DenoiserOptions()) throws(DenoiseError) -> Choice {
        let signal = try Resampler.readMono(path, at: speech.sampleRate, seconds: excerptSeconds).signal
        return try choose(signal, speech: speech, candidates: candidates, options: options)
    }
}
