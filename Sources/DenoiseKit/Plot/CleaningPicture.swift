import Foundation

/// The spectrograms of one cleaning — input, output, removed part (input − output) — summarized
/// for a picture, and the levels that say how much was removed. Channels are mixed down.
public final class CleaningSpectrograms {
    public let input: SpectrogramSummary, output: SpectrogramSummary, removed: SpectrogramSummary
    private var energy = (input: 0.0, output: 0.0, removed: 0.0)
    private let channels: Int

    init(sampleRate: Int, frames: Int, channels: Int) throws(DenoiseError) {
        input = try SpectrogramSummary(sampleRate: sampleRate, samples: frames)
        output = try SpectrogramSummary(sampleRate: sampleRate, samples: frames)
        removed = try SpectrogramSummary(sampleRate: sampleRate, samples: frames)
        self.channels = channels
    }

    /// How much quieter the output is than the input, in dB (0 when nothing was removed).
    public var levelDropDB: Double { 10 * log10(max(energy.input, 1e-30) / max(energy.output, 1e-30)) }
    /// The removed part's level against the input's, in dB.
    public var removedLevelDB: Double { 10 * log10(max(energy.removed, 1e-30) / max(energy.input, 1e-30)) }
    public var duration: Double { input.duration }

    /// Interleaved input and output frames that belong together.
    func add(noisy: UnsafePointer<Float>, cleaned: UnsafePointer<Float>, frames: Int) {
        var x = [Float](repeating: 0, count: frames), y = x, d = x
        let scale = 1 / Float(channels)
        for i in 0..<frames {
            var a: Float = 0, b: Float = 0
            for c in 0..<channels { a += noisy[i * channels + c]; b += cleaned[i * channels + c] }
            x[i] = a * scale; y[i] = b * scale; d[i] = x[i] - y[i]
            energy.input += Double(x[i] * x[i]); energy.output += Double(y[i] * y[i]); energy.removed += Double(d[i] * d[i])
        }
        input.add(x); output.add(y); removed.add(d)
    }

    func finish() {
        input.finish(); output.finish(); removed.finish()
    }

    /// The spectrograms of two files of the same rate, channels and length (a cleaning's input and
    /// output), read in step.
    public static func compare(noisy: String, cleaned: String) throws(DenoiseError) -> CleaningSpectrograms {
        let a = try AudioFileReader(noisy), b = try AudioFileReader(cleaned)
        guard a.sampleRate == b.sampleRate, a.channelCount == b.channelCount else {
            throw .invalidParameter("'\(noisy)' (\(a.sampleRate) Hz, \(a.channelCount) channel(s)) and '\(cleaned)' (\(b.sampleRate) Hz, \(b.channelCount) channel(s)) must share rate and channels")
        }
        guard a.frameCount == b.frameCount else {
            throw .invalidParameter("'\(noisy)' has \(a.frameCount) frames and '\(cleaned)' \(b.frameCount): not an input and its cleaned output")
        }
        let pictures = try CleaningSpectrograms(sampleRate: a.sampleRate, frames: a.frameCount, channels: a.channelCount)
        let step = 65_536
        var x = [Float](repeating: 0, count: step * a.channelCount), y = x
        var total = 0
        while true {
            let got = x.withUnsafeMutableBufferPointer { a.read(into: $0.baseAddress!, frames: step) }
            let other = y.withUnsafeMutableBufferPointer { b.read(into: $0.baseAddress!, frames: got) }
            let n = min(got, other)
            if n == 0 { break }
            x.withUnsafeBufferPointer { px in y.withUnsafeBufferPointer { py in pictures.add(noisy: px.baseAddress!, cleaned: py.baseAddress!, frames: n) } }
            total += n
        }
        try a.checkComplete(framesRead: total)
        pictures.finish()
        return pictures
    }

    /// The spectrograms of cleaning the file `noisy` with `denoiser`, in memory (nothing is written).
    public static func clean(_ noisy: String, with denoiser: Denoiser) throws(DenoiseError) -> CleaningSpectrograms {
        let reader = try AudioFileReader(noisy)
        let pictures = try CleaningSpectrograms(sampleRate: reader.sampleRate, frames: reader.frameCount, channels: reader.channelCount)
        let pair = PairingSinks(pictures, channels: reader.channelCount)
        let frames = try denoiser.clean(reader, into: pair.cleaned, removed: pair.removed)
        try reader.checkComplete(framesRead: frames)
        pictures.finish()
        return pictures
    }

    /// input, output, removed and mask panels on one time axis, in dB, written as PNG; returns where
    /// the panels are. (`panelHeight` 120 makes the report's smaller pictures.)
    @discardableResult
    public func draw(to path: String, title: String, subtitle: String, panelHeight: Int = 200) throws(DenoiseError) -> StackedPlot.Layout {
        let inputDB = input.decibels, outputDB = output.decibels, removedDB = removed.decibels
        // The levels' range: 90 dB below the input's loudest cell (rounded up to 10 dB).
        let top = ((inputDB.max() ?? 0) / 10).rounded(.up) * 10, range = (top - 90)...top
        var gain = [Float](repeating: 0, count: inputDB.count)
        for i in gain.indices { gain[i] = min(max(outputDB[i] - inputDB[i], -40), 0) }
        let (rows, cols) = (input.bins, input.columns)
        let panels = [
            PlotPanel(title: "input", values: inputDB, rows: rows, cols: cols, range: range, unit: "dBFS"),
            PlotPanel(title: "output", values: outputDB, rows: rows, cols: cols, range: range, unit: "dBFS"),
            PlotPanel(title: "removed (input − output)", values: removedDB, rows: rows, cols: cols, range: range, unit: "dBFS"),
            PlotPanel(title: "mask (output / input)", values: gain, rows: rows, cols: cols, range: -40...0, unit: "gain dB"),
        ]
        return try StackedPlot.draw(title: title, subtitle: subtitle, panels: panels, x: .time(seconds: duration),
                                    topKHz: Double(input.sampleRate) / 2000, to: path, panelHeight: panelHeight)
    }
}

/// Two sinks for `Denoiser.clean(_:into:removed:)`: each chunk's cleaned frames, then its removed
/// frames (input = cleaned + removed), given to the spectrograms together.
private final class PairingSinks {
    let pictures: CleaningSpectrograms
    let channels: Int
    var pending: [Float] = []
    lazy var cleaned = Sink { [unowned self] p, n in pending += UnsafeBufferPointer(start: p, count: n * channels) }
    lazy var removed = Sink { [unowned self] p, n in
        var noisy = pending
        for i in 0..<(n * channels) { noisy[i] += p[i] }
        noisy.withUnsafeBufferPointer { x in pending.withUnsafeBufferPointer { y in pictures.add(noisy: x.baseAddress!, cleaned: y.baseAddress!, frames: n) } }
        pending.removeFirst(n * channels)
    }

    init(_ pictures: CleaningSpectrograms, channels: Int) {
        self.pictures = pictures
        self.channels = channels
    }

    final class Sink: AudioSink {
        let body: (UnsafePointer<Float>, Int) -> Void
        init(_ body: @escaping (UnsafePointer<Float>, Int) -> Void) { self.body = body }
        func write(_ buffer: UnsafePointer<Float>, frames: Int) throws(DenoiseError) { body(buffer, frames) }
    }
}

extension SpectralDictionary {
    /// The atoms as a picture: one column per atom, frequency up, in dB against the largest entry.
    public func drawAtoms(to path: String, title: String) throws(DenoiseError) {
        let largest = max(atoms.storage.max() ?? 1, .leastNormalMagnitude)
        // Low atoms left, high ones right: ordered by spectral centroid.
        let centroid = (0..<rank).map { k in
            let column = atoms.storage[(k * bins)..<((k + 1) * bins)]
            return zip(column.indices, column).reduce(0) { $0 + Float($1.0 - k * bins) * $1.1 } / max(column.reduce(0, +), .leastNormalMagnitude)
        }
        let order = (0..<rank).sorted { centroid[$0] < centroid[$1] }
        let values = order.flatMap { k in atoms.storage[(k * bins)..<((k + 1) * bins)].map { 20 * log10(max($0 / largest, 1e-6)) } }
        let panel = PlotPanel(title: "atoms (\(kind.rawValue), rank \(rank))", values: values, rows: bins, cols: rank,
                              range: -60...0, unit: "dB")
        try StackedPlot.draw(title: title, subtitle: "\(sampleRate) Hz, n-fft \(stft.nFFT), hop \(stft.hop), beta \(beta); magnitude of each atom against the largest, atoms ordered by spectral centroid",
                             panels: [panel], x: .index(count: rank, label: "atom"), topKHz: Double(sampleRate) / 2000, to: path,
                             panelHeight: 420)
    }
}
