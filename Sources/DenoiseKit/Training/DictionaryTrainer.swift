import Foundation

/// Settings for learning a dictionary from recordings.
public struct DictionaryTrainingOptions: Sendable {
    public var kind: SpectralDictionary.Kind
    public var sampleRate: Int
    public var stft: STFTConfiguration
    public var spectrumExponent: Float
    public var nmf: NMFConfiguration
    /// Frames more than this many dB below the file's loudest frame are left out (pauses, silence).
    public var silenceThresholdDB: Float
    /// Give every input (file or folder as named) the same total weight in the cost, whatever its
    /// duration. The β-divergence is β-homogeneous, d(cx | cy) = c^β d(x | y), so scaling an input's
    /// frames by weight^(1/β) weighs it exactly; for β = 0 (scale-invariant) it has no effect.
    public var balanceInputs: Bool

    public init(kind: SpectralDictionary.Kind, sampleRate: Int = 16000, stft: STFTConfiguration = STFTConfiguration(),
                spectrumExponent: Float = 1, nmf: NMFConfiguration, silenceThresholdDB: Float = 40,
                balanceInputs: Bool = false) {
        self.kind = kind
        self.sampleRate = sampleRate
        self.stft = stft
        self.spectrumExponent = spectrumExponent
        self.nmf = nmf
        self.silenceThresholdDB = silenceThresholdDB
        self.balanceInputs = balanceInputs
    }

    public func validate() throws(DenoiseError) {
        guard (1000...768_000).contains(sampleRate) else {
            throw .invalidParameter("sample rate must be between 1000 and 768000 Hz (got \(sampleRate))")
        }
        try stft.validate()
        try nmf.validate()
        guard spectrumExponent > 0, spectrumExponent <= 4 else {
            throw .invalidParameter("spectrum exponent must be in (0, 4] (got \(spectrumExponent))")
        }
        guard silenceThresholdDB > 0 else { throw .invalidParameter("silence threshold must be positive (got \(silenceThresholdDB))") }
    }
}

/// What went into a training run.
public struct TrainingSummary: Sendable {
    public var files: Int
    /// Seconds of audio read.
    public var seconds: Double
    /// Spectrogram frames kept for training (after dropping silence).
    public var frames: Int
    public var result: NMFResult
}

/// Learns a `SpectralDictionary` from audio files with NMF.
public enum DictionaryTrainer {
    /// Expands `inputs` (files and folders) into the audio files to read: folders are searched
    /// recursively for extensions libsndfile reads; files named explicitly are taken as they are.
    public static func audioFiles(in inputs: [String]) throws(DenoiseError) -> [String] {
        var files: [String] = []
        for input in inputs {
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: input, isDirectory: &isDirectory) else {
                throw .unreadableInput(path: input, reason: "no such file or directory")
            }
            guard isDirectory.boolValue else { files.append(input); continue }
            guard let walker = FileManager.default.enumerator(atPath: input) else {
                throw .unreadableInput(path: input, reason: "the folder cannot be listed")
            }
            var found: [String] = []
            while let item = walker.nextObject() as? String {
                let ext = URL(fileURLWithPath: item).pathExtension.lowercased()
                if AudioFile.readableExtensions.contains(ext) { found.append((input as NSString).appendingPathComponent(item)) }
            }
            guard !found.isEmpty else { throw .noAudio("no audio files found in '\(input)'") }
            files += found.sorted()
        }
        return files
    }

    /// The training spectrogram of one signal: |STFT|^exponent with silent frames dropped,
    /// scaled to mean 1 so every file weighs the same whatever its level.
    public static func trainingFrames(_ signal: [Float], options: DictionaryTrainingOptions) throws(DenoiseError) -> Matrix {
        let stft = try STFT(options.stft)
        let v = stft.forward(signal).magnitude(exponent: options.spectrumExponent)
        let bins = v.rows
        var energy = [Float](repeating: 0, count: v.cols)
        for t in 0..<v.cols {
            var e: Float = 0
            for f in 0..<bins { e += v[f, t] * v[f, t] }
            energy[t] = e
        }
        // Energies are of |X|^exponent, so the threshold in dB scales with the exponent.
        let threshold = (energy.max() ?? 0) * powf(10, -options.silenceThresholdDB * options.spectrumExponent / 10)
        let keep = (0..<v.cols).filter { energy[$0] > threshold && energy[$0] > 0 }
        var storage: [Float] = []
        storage.reserveCapacity(keep.count * bins)
        for t in keep { storage.append(contentsOf: v.storage[(t * bins)..<((t + 1) * bins)]) }
        let mean = storage.reduce(0, +) / Float(max(storage.count, 1))
        if mean > 0 { for i in storage.indices { storage[i] = max(storage[i] / mean, BetaDivergence.floor) } }
        return Matrix(rows: bins, cols: keep.count, storage: storage)
    }

    /// Reads, resamples, mixes down and analyzes every file; returns the concatenated frames.
    public static func trainingSpectrogram(files: [String], options: DictionaryTrainingOptions,
                                           warning: (String) -> Void = { _ in }) throws(DenoiseError) -> (Matrix, seconds: Double) {
        var storage: [Float] = []
        var seconds = 0.0
        for file in files {
            let (mono, info, duration) = try Resampler.readMono(file, at: options.sampleRate)
            if let message = info.repairs.warning(for: file) { warning(message) }
            seconds += duration
            storage += try trainingFrames(mono, options: options).storage
        }
        let bins = options.stft.bins
        return (Matrix(rows: bins, cols: storage.count / bins, storage: storage), seconds)
    }

    /// A noise dictionary learned from a short noise-only recording (the "noise profile" habit of
    /// Audacity and sox), made to fit `speech`: same rate, STFT, exponent and β. Its rank is
    /// `rank`, or fewer when the recording is too short to support it (one atom per 8 frames).
    public static func noiseProfile(_ path: String, for speech: SpectralDictionary, rank: Int = 16,
                                    warning: (String) -> Void = { _ in }) throws(DenoiseError) -> SpectralDictionary {
        var options = DictionaryTrainingOptions(kind: .noise, sampleRate: speech.sampleRate, stft: speech.stft,
                                                spectrumExponent: speech.spectrumExponent,
                                                nmf: NMFConfiguration(rank: rank, iterations: 200, beta: speech.beta, seed: 0))
        // Noise is not speech: its quiet frames are noise too, so only digital silence is left out.
        options.silenceThresholdDB = 120
        let (v, _) = try trainingSpectrogram(files: [path], options: options, warning: warning)
        guard v.cols >= 8 else {
            throw .noAudio("the noise sample '\(path)' is too short: \(v.cols) frames, at least 8 (0.15 s) are needed")
        }
        options.nmf.rank = min(rank, v.cols / 8)
        let result = try NMF.factorize(v, configuration: options.nmf)
        return SpectralDictionary(atoms: result.W, kind: .noise, sampleRate: speech.sampleRate, stft: speech.stft,
                                  spectrumExponent: speech.spectrumExponent, beta: speech.beta, iterations: result.iterations,
                                  extraMetadata: ["training_files": "1", "training_frames": String(v.cols)], origin: path)
    }

    /// Trains a dictionary on `inputs` (files or folders).
    public static func train(
        inputs: [String], options: DictionaryTrainingOptions,
        warning: (String) -> Void = { _ in },
        progress: ((_ iteration: Int, _ cost: Double) -> Void)? = nil
    ) throws(DenoiseError) -> (SpectralDictionary, TrainingSummary) {
        try options.validate()
        var groups: [Matrix] = []
        var files: [String] = []
        var seconds = 0.0
        for input in inputs {
            let found = try audioFiles(in: [input])
            let (frames, s) = try trainingSpectrogram(files: found, options: options, warning: warning)
            groups.append(frames)
            files += found
            seconds += s
        }
        let total = groups.reduce(0) { $0 + $1.cols }
        if options.balanceInputs, options.nmf.beta > 0, groups.count > 1 {
            let target = Double(total) / Double(groups.count)
            for g in groups.indices where groups[g].cols > 0 {
                let scale = Float(pow(target / Double(groups[g].cols), 1 / Double(options.nmf.beta)))
                for i in groups[g].storage.indices { groups[g].storage[i] *= scale }
            }
        }
        let frameSeconds = Double(options.stft.nFFT) / Double(options.sampleRate)
        guard seconds >= frameSeconds else {
            throw .noAudio("the inputs hold \(String(format: "%.3f", seconds)) s of audio, less than one STFT frame (\(options.stft.nFFT) samples, \(String(format: "%.3f", frameSeconds)) s)")
        }
        let v = Matrix.hstack(groups)
        guard v.cols > 0 else { throw .noAudio("the inputs contain no audio above silence to train on") }
        guard v.cols >= options.nmf.rank else {
            throw .noAudio("rank \(options.nmf.rank) needs at least \(options.nmf.rank) frames of audio, the inputs give \(v.cols) (\(String(format: "%.2f", seconds)) s)")
        }
        let result = try NMF.factorize(v, configuration: options.nmf, progress: progress)
        let dictionary = SpectralDictionary(
            atoms: result.W, kind: options.kind, sampleRate: options.sampleRate, stft: options.stft,
            spectrumExponent: options.spectrumExponent, beta: options.nmf.beta, sparsity: options.nmf.sparsity,
            iterations: result.iterations,
            extraMetadata: [
                "training_files": String(files.count),
                "training_seconds": String(format: "%.1f", seconds),
                "training_frames": String(v.cols),
                "training_cost": String(format: "%.6g", result.finalCost / Double(max(v.count, 1))),
                "seed": String(options.nmf.seed),
            ])
        return (dictionary, TrainingSummary(files: files.count, seconds: seconds, frames: v.cols, result: result))
    }
}
