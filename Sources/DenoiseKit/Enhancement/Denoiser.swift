import Foundation

/// Run-time settings of supervised separation.
public struct DenoiserOptions: Sendable, Equatable {
    /// Multiplicative-update iterations for H per block of frames.
    public var iterations: Int
    /// p in the mask M = Sᵖ / (Sᵖ + Nᵖ). 2 by default, the Wiener mask the shipped bases and solve
    /// layers are trained through: with them, p = 3 (which suited bases without layers) measured
    /// +0.03 dB SI-SDR but −0.03 PESQ and −0.004 STOI on the dev pairs, p = 1.5 worse in all three.
    public var maskPower: Float
    /// λ, L1 penalty on H at run time.
    public var sparsity: Float
    /// Frames solved together: bounds memory, and lets BLAS work on large products.
    public var blockFrames: Int
    /// Threads a block's activations are solved on (1 when files are cleaned in parallel).
    public var threads: Int
    /// Mel-spaced bands the activations are solved on (0: every STFT bin). The mask is still built
    /// at full resolution.
    public var bands: Int
    /// Lowest gain of the mask: keeps a little of the noise, against "musical noise".
    public var gainFloor: Float
    /// γ in the gain Mᵞ applied to the noisy STFT (a parametric Wiener filter): above 1 it lowers the
    /// gains of bins the mask already judges mostly noise more than those of speech bins. 1.25 by
    /// default: on the dev pairs with the shipped dictionaries it raised PESQ by 0.03 (general
    /// model) to 0.05 (named type) at equal SI-SDR and STOI; 1.5 gave no more PESQ and lost STOI.
    public var gainExponent: Float
    /// Hz above which the input holds nothing (`InputBandwidth`): the solve leaves those bins or
    /// bands out, as a weighted NMF with weight 0 there. nil: the whole band.
    public var bandwidth: Double?

    /// The defaults: 40 iterations on 128 bands cost a quarter of 100 on every bin at nearly the same
    /// quality (README, "Speed").
    public init(iterations: Int = 40, maskPower: Float = 2, sparsity: Float = 0, blockFrames: Int = 512,
                threads: Int = ProcessInfo.processInfo.activeProcessorCount, bands: Int = 128, gainFloor: Float = 0,
                gainExponent: Float = 1.25, bandwidth: Double? = nil) {
        self.bands = bands
        self.bandwidth = bandwidth
        self.gainFloor = gainFloor
        self.gainExponent = gainExponent
        self.iterations = iterations
        self.maskPower = maskPower
        self.sparsity = sparsity
        self.blockFrames = blockFrames
        self.threads = threads
    }

    public func validate() throws(DenoiseError) {
        guard iterations >= 1, iterations <= 100_000 else {
            throw .invalidParameter("iterations must be between 1 and 100000 (got \(iterations))")
        }
        guard maskPower > 0, maskPower <= 8 else { throw .invalidParameter("mask power must be in (0, 8] (got \(maskPower))") }
        guard sparsity >= 0, sparsity.isFinite else { throw .invalidParameter("sparsity must be non-negative (got \(sparsity))") }
        guard blockFrames >= 1 else { throw .invalidParameter("block size must be at least 1 frame (got \(blockFrames))") }
        guard gainFloor >= 0, gainFloor <= 1 else { throw .invalidParameter("gain floor must be in [0, 1] (got \(gainFloor))") }
        guard gainExponent > 0, gainExponent <= 8 else { throw .invalidParameter("gain exponent must be in (0, 8] (got \(gainExponent))") }
        if let bandwidth, !(bandwidth > 0 && bandwidth.isFinite) {
            throw .invalidParameter("bandwidth must be a positive frequency (got \(bandwidth))")
        }
        guard bands >= 0 else { throw .invalidParameter("bands must be 0 (every bin) or positive (got \(bands))") }
        guard threads >= 1, threads <= 256 else { throw .invalidParameter("threads must be between 1 and 256 (got \(threads))") }
    }
}

/// Supervised NMF speech enhancement: the model.
///
/// With W = [W_speech W_noise] fixed, each block of frames of the noisy magnitude spectrogram V is
/// explained as V ≈ W·H; the speech estimate S = W_speech·H_speech and noise estimate
/// N = W_noise·H_noise give the soft mask M = Sᵖ / (Sᵖ + Nᵖ), which is applied to the complex noisy
/// STFT before the inverse STFT.
///
/// A denoiser holds only what does not change (dictionaries, atoms, bases, layers, plans) and is
/// shared by every stream, batch worker, noise choice and trainer; each `DenoiserStream` carries its
/// own working memory, so any number of them run at once.
public final class Denoiser: Sendable {
    public let speech: SpectralDictionary
    public let noise: [SpectralDictionary]
    public let options: DenoiserOptions
    /// The rate the dictionaries were trained at; other inputs are resampled to it and back.
    public var sampleRate: Int { speech.sampleRate }

    let stft: STFT
    let solver: ActivationSolver
    /// The solve's frequency axis when it is pooled into bands.
    let bands: FrequencyBands?
    /// The mask's speech and noise estimates, S_t = Σ_o A_o·H[rows](t + o) and likewise N: from the
    /// solve's own atoms, or from the discriminative reconstruction bases of the noise dictionary
    /// when it carries ones trained with this speech dictionary.
    let speechEstimate: MaskEstimate, noiseEstimate: MaskEstimate
    /// Whether the estimates use discriminatively trained bases.
    public let usesMaskBases: Bool
    /// How many of the solve's last iterations use atoms trained with those bases (0: none).
    public let trainedLayers: Int
    /// Frames around each frame whose activations build its mask (from the mask bases).
    public let context: MaskContext
    /// Where these options leave trained parts of the noise dictionary unused or used otherwise than
    /// trained (a warning each, for the user): nothing is dropped silently.
    public let warnings: [String]
    let exponent: Float
    /// Per bin, the steady noise the speech atoms explain (`SteadyNoise`): each frame's noise
    /// estimate gets its speech estimate up to this before the mask. nil: nothing.
    public let steadyNoise: [Float]?
    /// Streams track the steady floor as they go (`SteadyNoise.Tracker`) instead of a measured one.
    public let tracksSteadyNoise: Bool
    /// Turns down the cleaned frames of the pauses (`PauseGate`). nil: nothing.
    public let pauseGate: PauseGate?
    /// Keeps bins that stand clearly above the noise (`SpeechGuard`). nil: the NMF chain alone.
    public let speechGuard: SpeechGuard?
    /// Per bin, how much larger the mask's speech bases are than the speech atoms (`scale`).
    let speechScale: [Float]

    public init(speech: SpectralDictionary, noise: [SpectralDictionary], options: DenoiserOptions = DenoiserOptions(),
                steadyNoise: [Float]? = nil, tracksSteadyNoise: Bool = false, pauseGate: PauseGate? = nil,
                speechGuard: SpeechGuard? = nil) throws(DenoiseError) {
        try options.validate()
        if let speechGuard, speechGuard.noisePower.count != speech.bins {
            throw .invalidParameter("the speech guard needs \(speech.bins) noise powers (got \(speechGuard.noisePower.count))")
        }
        self.speechGuard = speechGuard
        if steadyNoise != nil, tracksSteadyNoise {
            throw .invalidParameter("a steady noise floor is either measured or tracked, not both")
        }
        self.tracksSteadyNoise = tracksSteadyNoise
        if let steadyNoise, steadyNoise.count != speech.bins || !steadyNoise.allSatisfy({ $0 >= 0 && $0.isFinite }) {
            throw .invalidParameter("the steady noise floor needs \(speech.bins) finite non-negative values (got \(steadyNoise.count))")
        }
        self.steadyNoise = steadyNoise
        self.pauseGate = pauseGate
        guard !noise.isEmpty else { throw .invalidParameter("at least one noise dictionary is needed") }
        try Self.checkCompatible([speech] + noise)
        self.speech = speech
        self.noise = noise
        self.options = options
        stft = try STFT(speech.stft)
        exponent = speech.spectrumExponent
        let atoms = Matrix.hstack([speech.atoms] + noise.map(\.atoms))
        let fullBands = Self.solveBands(speech: speech, options: options)
        let bands = Self.limited(fullBands, speech: speech, bandwidth: options.bandwidth)
        self.bands = bands
        // The first noise dictionary with mask bases for this speech dictionary lends its speech and
        // noise bases to the mask; other noise dictionaries (a --noise-sample, --adapt) keep their own
        // atoms, brought to the bases' scale, at the frame's own offset only.
        let withBases = noise.firstIndex { d in
            d.maskBases.map { b in
                b.speechFingerprint == speech.fingerprint
                    && b.speech.cols == speech.rank * b.context.frames
            } ?? false
        }
        let solveAtoms = bands?.pool(atoms) ?? atoms
        var layers: Matrix?
        var warnings: [String] = []
        if let withBases, let bases = noise[withBases].maskBases {
            let trainedRows = fullBands?.count ?? speech.bins
            warnings = Self.mismatches(noise[withBases], options: options, solveRows: trainedRows)
            context = bases.context
            let scale = Self.scale(of: bases.speech, against: speech.atoms)
            (speechEstimate, noiseEstimate) = Self.estimates(speech: speech, noise: noise, withBases: withBases, bases: bases, scale: scale)
            usesMaskBases = true
            // Trained solve layers serve only the frequency axis they were trained on.
            if let trained = bases.layers, trained.rows == trainedRows {
                layers = Self.solveLayers(trained, count: bases.layerCount, speech: speech, noise: noise, withBases: withBases, bands: bands)
            }
        } else {
            context = MaskContext()
            speechEstimate = MaskEstimate(bases: speech.atoms, rows: 0..<speech.rank)
            noiseEstimate = MaskEstimate(bases: Matrix.hstack(noise.map(\.atoms)), rows: speech.rank..<atoms.cols)
            usesMaskBases = false
        }
        speechScale = Self.scale(of: speechEstimate.bases, against: speech.atoms)
        trainedLayers = min(layers.map { $0.cols / atoms.cols } ?? 0, options.iterations)
        self.warnings = warnings
        solver = ActivationSolver(atoms: solveAtoms, layers: layers, beta: speech.beta, sparsity: options.sparsity,
                                  iterations: options.iterations, capacity: options.blockFrames, threads: options.threads)
    }

    /// What of `dictionary`'s mask bases and solve layers `options` do not use as trained.
    static func mismatches(_ dictionary: SpectralDictionary, options: DenoiserOptions, solveRows: Int) -> [String] {
        guard let bases = dictionary.maskBases else { return [] }
        var out: [String] = []
        let name = dictionary.label
        if let layers = bases.layers {
            if layers.rows != solveRows {
                out.append("\(name) has solve layers trained on \(layers.rows) bands; with \(options.bands == 0 ? "every bin" : "\(options.bands) bands") the solve uses its atoms throughout")
            } else if bases.layerCount > options.iterations {
                out.append("\(name) has \(bases.layerCount) trained solve layers; \(options.iterations) iterations use only the last \(options.iterations) of them")
            }
        }
        let used = [("mask_run_iterations", "iterations", String(options.iterations)), ("mask_run_bands", "bands", String(options.bands)),
                    ("mask_run_sparsity", "sparsity", String(options.sparsity)), ("mask_power", "mask power", String(options.maskPower))]
        for (key, setting, value) in used {
            if let trained = dictionary.extraMetadata[key], Float(trained) != Float(value) {
                out.append("the mask bases of \(name) were trained with \(setting) \(trained); this run uses \(value)")
            }
        }
        return out
    }

    /// Per row (bin or band), how much larger `bases` are than `atoms`: Σ over the columns of the
    /// bases / Σ over the columns of the atoms. For the mask, the speech bases (over every context)
    /// against the speech dictionary, and for each solve layer its speech atoms against the plain
    /// ones: both are trained with their scale free against the atoms (the trainer fixes only the
    /// bases' common scale, which the mask, a ratio, does not see: they end 20-70× the atoms); a
    /// noise dictionary without bases (a --noise-sample, --adapt) is brought to the speech bases'
    /// scale so that the mask weighs its noise against speech as the plain Wiener mask would.
    /// (Without this it counted for almost nothing: dev pairs, --noise-sample ΔPESQ +0.19 → +0.28;
    /// the noise bases' scale instead over-suppressed, +10 dB group +2.4 → +0.8 dB.)
    static func scale(of bases: Matrix, against atoms: Matrix) -> [Float] {
        let b = rowSums(bases), a = rowSums(atoms)
        return zip(b, a).map { b, a in a > 0 ? b / a : 0 }
    }

    /// The speech and noise estimates from `noise[withBases]`'s mask bases. The other noise dictionaries
    /// add their atoms scaled per bin by `scale` at the frame's own offset to the noise estimate.
    static func estimates(speech: SpectralDictionary, noise: [SpectralDictionary], withBases: Int,
                          bases: SpectralDictionary.MaskBases, scale: [Float]) -> (speech: MaskEstimate, noise: MaskEstimate) {
        let ks = speech.rank, kn = noise[withBases].rank, total = ks + noise.reduce(0) { $0 + $1.rank }
        var noiseBlocks: [Matrix] = []
        for (block, offset) in bases.context.offsets.enumerated() {
            for d in noise.indices {
                noiseBlocks.append(d == withBases ? bases.noise.columns((block * kn)..<((block + 1) * kn))
                                   : offset == 0 ? Self.scaledRows(noise[d].atoms, scale) : Matrix(rows: speech.bins, cols: noise[d].rank))
            }
        }
        return (MaskEstimate(bases: bases.speech, rows: 0..<ks), MaskEstimate(bases: Matrix.hstack(noiseBlocks), rows: ks..<total))
    }

    /// The frequency axis the activations are solved on: mel bands, or nil for every STFT bin.
    static func solveBands(speech: SpectralDictionary, options: DenoiserOptions) -> FrequencyBands? {
        options.bands > 0 && options.bands < speech.bins
            ? FrequencyBands(bins: speech.bins, bands: options.bands, sampleRate: speech.sampleRate) : nil
    }

    /// `bands` (nil: every bin) without the bins at and above `bandwidth` Hz, or as they are without one.
    static func limited(_ bands: FrequencyBands?, speech: SpectralDictionary, bandwidth: Double?) -> FrequencyBands? {
        guard let bandwidth else { return bands }
        let cutoff = InputBandwidth.bin(of: bandwidth, bins: speech.bins, sampleRate: speech.sampleRate)
        return bands?.limited(below: cutoff) ?? .single(bins: speech.bins, upTo: cutoff)
    }

    /// The solver's layer atoms: each trained block (speech atoms, then `noise[withBases]`'s) with the
    /// other noise dictionaries' own atoms in their places, scaled per band like that layer's speech
    /// atoms. Training leaves each layer's scale free (2-4× the plain atoms, more in some bands);
    /// unscaled, a --noise-sample's atoms ended with activations at the wrong scale and the mask
    /// removed the speech (Samples/speech-fan.wav: −1.9 dB SI-SDR; scaled +5.6 dB, as without layers).
    static func solveLayers(_ trained: Matrix, count: Int, speech: SpectralDictionary, noise: [SpectralDictionary],
                            withBases: Int, bands: FrequencyBands?) -> Matrix {
        let width = trained.cols / count, ks = speech.rank
        let plainSpeech = bands?.pool(speech.atoms) ?? speech.atoms
        var blocks: [Matrix] = []
        for layer in 0..<count {
            // A limited solve keeps the layers' rows of the bands it solves on (the lowest ones).
            var block = trained.columns((layer * width)..<((layer + 1) * width))
            if block.rows > plainSpeech.rows { block = block.rows(0..<plainSpeech.rows) }
            let scale = scale(of: block.columns(0..<ks), against: plainSpeech)
            blocks.append(block.columns(0..<ks))
            for d in noise.indices {
                blocks.append(d == withBases ? block.columns(ks..<width) : scaledRows(bands?.pool(noise[d].atoms) ?? noise[d].atoms, scale))
            }
        }
        return Matrix.hstack(blocks)
    }

    /// `m` with row f multiplied by `scale[f]`.
    static func scaledRows(_ m: Matrix, _ scale: [Float]) -> Matrix {
        var out = m
        for k in 0..<m.cols { for f in 0..<m.rows { out.storage[k * m.rows + f] *= scale[f] } }
        return out
    }

    /// What a denoiser is made of: the arguments of `init`, everything else derives from them.
    public struct Parts: Sendable {
        public var speech: SpectralDictionary
        public var noise: [SpectralDictionary]
        public var options: DenoiserOptions
        public var steadyNoise: [Float]?
        public var tracksSteadyNoise: Bool
        public var pauseGate: PauseGate?
        public var speechGuard: SpeechGuard?
    }

    public var parts: Parts {
        Parts(speech: speech, noise: noise, options: options, steadyNoise: steadyNoise, tracksSteadyNoise: tracksSteadyNoise,
              pauseGate: pauseGate, speechGuard: speechGuard)
    }

    public convenience init(_ parts: Parts) throws(DenoiseError) {
        try self.init(speech: parts.speech, noise: parts.noise, options: parts.options, steadyNoise: parts.steadyNoise,
                      tracksSteadyNoise: parts.tracksSteadyNoise, pauseGate: parts.pauseGate, speechGuard: parts.speechGuard)
    }

    /// This model with the parts `change` sets, every other part carried over: a fit that replaces one
    /// part (the band, the noise dictionaries, the floor) keeps the others.
    public func rebuilt(_ change: (inout Parts) -> Void) throws(DenoiseError) -> Denoiser {
        var parts = self.parts
        change(&parts)
        return try Denoiser(parts)
    }

    /// Dictionaries can only be used together if they share the sample rate, the STFT and the
    /// spectrum exponent; the error names both disagreeing files and values.
    public static func checkCompatible(_ dictionaries: [SpectralDictionary]) throws(DenoiseError) {
        guard let first = dictionaries.first else { return }
        for d in dictionaries.dropFirst() {
            func check<T: Equatable>(_ name: String, _ a: T, _ b: T) throws(DenoiseError) {
                if a != b { throw .incompatible("dictionaries disagree on \(name): \(first.label) has \(a), \(d.label) has \(b)") }
            }
            try check("sample_rate", first.sampleRate, d.sampleRate)
            try check("n_fft", first.stft.nFFT, d.stft.nFFT)
            try check("hop", first.stft.hop, d.stft.hop)
            try check("spectrum_exponent", first.spectrumExponent, d.spectrumExponent)
        }
    }

    /// Cleans every channel of `audio` (any sample rate): the result has the input's rate,
    /// channel count and length.
    public func denoise(_ audio: AudioBuffer) throws(DenoiseError) -> AudioBuffer {
        var channels: [[Float]] = []
        for x in audio.channels {
            let pipeline = try CleaningPipeline(denoiser: self, sampleRate: audio.sampleRate, channels: 1)
            var y = x.withUnsafeBufferPointer { pipeline.process($0) }
            y += pipeline.finish()
            channels.append(y)
        }
        return AudioBuffer(sampleRate: audio.sampleRate, channels: channels)
    }

    /// Cleans one channel at the dictionaries' sample rate.
    public func denoise(_ signal: [Float]) -> [Float] {
        let stream = DenoiserStream(self)
        return signal.withUnsafeBufferPointer { stream.push($0) } + stream.finish()
    }


    var configuration: STFTConfiguration { stft.configuration }

    /// The STFT bins the solve sees, from 0: all of them unless `options.bandwidth` limits it.
    public var solvedBins: Int { bands?.edges.last ?? speech.bins }

    /// The activations H [rank × frames] this denoiser solves for a magnitude spectrogram `v`
    /// [bins × frames] (floored as at run time): what the mask is built from.
    public func activations(_ v: Matrix) -> Matrix {
        let floored = BetaDivergence.floored(v)
        return solver.solve(bands?.pool(floored) ?? floored)
    }
}
