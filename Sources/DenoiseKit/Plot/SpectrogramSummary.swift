import Foundation

/// A spectrogram summarized for a picture: at most `maxColumns` time columns, each the mean power
/// of its STFT frames per bin, so a 5 s clip keeps every frame and an hour is averaged into the
/// same width. Built as the samples arrive (one window of them held), for a signal whose length
/// is known in advance.
public final class SpectrogramSummary {
    public let sampleRate: Int
    public let bins: Int
    public let columns: Int
    /// Mean power [bins × columns], column-major; after `finish`, against a full-scale sine's.
    public private(set) var power: [Float]
    public var duration: Double { Double(totalSamples) / Double(sampleRate) }

    private let stft: STFT
    private let fft: STFT.Buffers
    private let totalSamples: Int, frames: Int
    private var counts: [Int]
    private var input: [Float] = [], inputOrigin = 0, received = 0, nextFrame = 0
    private var re: [Float], im: [Float]

    /// The STFT has the model's window duration (64 ms) at `sampleRate`, a quarter of it as hop.
    public init(sampleRate: Int, samples: Int, maxColumns: Int = 1600) throws(DenoiseError) {
        guard sampleRate > 0, samples >= 0, maxColumns >= 1 else { throw .invalidParameter("a spectrogram needs a rate, a length and columns") }
        let n = max(16, Int((1024 * Double(sampleRate) / 16000).rounded()) / 2 * 2)
        stft = try STFT(STFTConfiguration(nFFT: n, hop: n / 4))
        fft = stft.makeBuffers()
        self.sampleRate = sampleRate
        bins = stft.bins
        totalSamples = samples
        frames = max(stft.configuration.frameCount(samples: samples), 1)
        columns = min(frames, maxColumns)
        power = [Float](repeating: 0, count: bins * columns)
        counts = [Int](repeating: 0, count: columns)
        re = [Float](repeating: 0, count: bins)
        im = re
    }

    /// The next mono samples.
    public func add(_ samples: UnsafeBufferPointer<Float>) {
        input.append(contentsOf: samples)
        received += samples.count
        analyze(toFrame: min(received / stft.hop, frames))
    }

    public func add(_ samples: [Float]) { samples.withUnsafeBufferPointer { add($0) } }

    /// The last frames; then every column holds its mean.
    public func finish() {
        analyze(toFrame: frames)
        // dB full scale: a full-scale sine at a bin's centre frequency reads 0 dB (its peak is
        // Σw/2 = n/4 with the periodic Hann window).
        let n = Float(stft.nFFT), fullScale = 16 / (n * n)
        for c in 0..<columns {
            let scale = fullScale / Float(max(counts[c], 1))
            for f in 0..<bins { power[c * bins + f] *= scale }
        }
        counts = counts.map { min($0, 1) }
    }

    /// Power in dB full scale (10·log10, floored at −200 dB).
    public var decibels: [Float] { power.map { 10 * log10(max($0, 1e-20)) } }

    private func analyze(toFrame end: Int) {
        guard end > nextFrame else { return }
        input.withUnsafeBufferPointer { x in
            re.withUnsafeMutableBufferPointer { pr in
                im.withUnsafeMutableBufferPointer { pi in
                    while nextFrame < end {
                        stft.analyze(x, origin: inputOrigin, firstFrame: nextFrame, count: 1, re: pr.baseAddress!, im: pi.baseAddress!, buffers: fft)
                        let c = nextFrame * columns / frames, column = c * bins
                        for f in 0..<bins { power[column + f] += pr[f] * pr[f] + pi[f] * pi[f] }
                        counts[c] += 1
                        nextFrame += 1
                    }
                }
            }
        }
        let drop = min(max(nextFrame * stft.hop - stft.configuration.leadingPadding - inputOrigin, 0), input.count)
        input.removeFirst(drop)
        inputOrigin += drop
    }
}
