import Foundation

/// Noise atoms learned on the recording itself (`run --adapt`): semi-supervised NMF on its pauses.
///
/// The recording is first cleaned as `run` would; the frames of which its mask keeps the smallest
/// share of the energy are taken as its pauses. On those frames new
/// noise atoms are learned, started from the noise dictionary's atoms most used there, while the
/// speech atoms stay fixed beside them: whatever speech is left in a "pause" goes to the speech
/// atoms instead of being learned as noise. The result is used beside the other noise dictionaries,
/// like a `--noise-sample`, for noise they do not describe well. `run`'s default for files: on xrec
/// (noise recordings no training saw) the plain general model's ΔSI-SDR +3.59 → +4.10 dB, on the real
/// recordings DNSMOS BAK 2.89 → 3.18 (README, "Quality").
public enum NoiseAdaptation {
    /// Seconds of the recording (its beginning) the atoms are learned on.
    public static let excerptSeconds = 60.0
    /// Share of the frames taken as pauses: those with the smallest speech share.
    public static let pauseFraction = 0.3
    /// Fewest pause frames to learn from (a quarter of a second at 16 kHz, hop 256).
    public static let minimumFrames = 16

    /// Learns `rank` noise atoms from the pauses of `signal` (one channel at the speech dictionary's
    /// rate); `noise` is the noise dictionary the run uses (its atoms start the new ones).
    public static func learn(_ signal: [Float], speech: SpectralDictionary, noise: SpectralDictionary, rank: Int = 8,
                             iterations: Int = 100, options: DenoiserOptions = DenoiserOptions()) throws(DenoiseError) -> SpectralDictionary {
        try Denoiser.checkCompatible([speech, noise])
        let stft = try STFT(speech.stft)
        let excerpt = Array(signal.prefix(Int(excerptSeconds * Double(speech.sampleRate))))
        let spectrum = stft.forward(excerpt)
        let v = BetaDivergence.floored(spectrum.magnitude(exponent: speech.spectrumExponent))
        let wanted = max(Int(Double(v.cols) * pauseFraction), minimumFrames, rank)
        guard v.cols >= wanted else {
            throw .noAudio("too short to learn its noise from its pauses: \(v.cols) frames, at least \(wanted) are needed")
        }

        // Share of each frame's energy the run's own mask keeps: the frames it keeps least of are
        // the ones it is surest hold noise alone. (The speech share of the plain model V ≈ W·H is
        // no guide: the speech atoms explain much of any noise, so it is 0.5 or more in every frame.)
        let denoiser = try Denoiser(speech: speech, noise: [noise], options: options)
        let kept = columnSums(stft.forward(denoiser.denoise(excerpt)).magnitude(exponent: 2))
        let share = zip(kept, columnSums(spectrum.magnitude(exponent: 2))).map { k, x in k / max(x, .leastNormalMagnitude) }
        let pauses = share.indices.sorted { (share[$0], $0) < (share[$1], $1) }.prefix(wanted).sorted()
        let vp = v.columns(at: Array(pauses))

        let plain = noise.withoutMaskBases
        let solving = try Denoiser(speech: speech, noise: [plain], options: options)
        let h = solving.activations(vp)
        let ks = speech.rank, kn = noise.rank
        var use = [Float](repeating: 0, count: kn)
        for t in 0..<vp.cols { for k in 0..<kn { use[k] += h.storage[t * (ks + kn) + ks + k] } }
        let order = use.indices.sorted { (use[$0], $1) > (use[$1], $0) }
        let start = Matrix.hstack((0..<rank).map { noise.atoms.columns(order[$0 % kn]..<(order[$0 % kn] + 1)) })

        // A band-limited input is learned from only where it holds anything; above, the atoms are 0.
        let bins = solving.solvedBins
        func band(_ m: Matrix) -> Matrix { bins < m.rows ? m.rows(0..<bins) : m }
        // A fixed number of iterations: the cost is taken only at the start and the end (each
        // evaluation costs as much as an update of H).
        let configuration = NMFConfiguration(rank: rank, iterations: iterations, beta: speech.beta, tolerance: 0,
                                             checkInterval: iterations, seed: 0)
        let result = try NMF.factorize(band(vp), configuration: configuration, fixedAtoms: band(speech.atoms), initialAtoms: band(start))
        var atoms = Matrix(rows: v.rows, cols: rank)
        let learned = result.W.columns(ks..<(ks + rank))
        for k in 0..<rank { for f in 0..<bins { atoms[f, k] = learned[f, k] } }
        return SpectralDictionary(atoms: atoms, kind: .noise, sampleRate: speech.sampleRate,
                                  stft: speech.stft, spectrumExponent: speech.spectrumExponent, beta: speech.beta,
                                  iterations: result.iterations,
                                  extraMetadata: ["training_frames": String(pauses.count)], origin: "pauses of the input")
    }

    /// `learn` on the beginning of an audio file (mixed down, converted to the model's rate).
    public static func learn(forFile path: String, speech: SpectralDictionary, noise: SpectralDictionary, rank: Int = 8,
                             options: DenoiserOptions = DenoiserOptions()) throws(DenoiseError) -> SpectralDictionary {
        let signal = try Resampler.readMono(path, at: speech.sampleRate, seconds: excerptSeconds).signal
        return try learn(signal, speech: speech, noise: noise, rank: rank, options: options)
    }
}
