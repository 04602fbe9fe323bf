internal import CFFTW
import Foundation

/// Frame size and hop of a short-time Fourier transform.
public struct STFTConfiguration: Sendable, Equatable {
    /// Window and FFT length in samples (even).
    public var nFFT: Int
    /// Frame advance in samples, at most nFFT/2 so that every sample is well covered.
    public var hop: Int

    public init(nFFT: Int = 1024, hop: Int = 256) {
        self.nFFT = nFFT
        self.hop = hop
    }

    /// Number of frequency bins of a frame: nFFT/2 + 1.
    public var bins: Int { nFFT / 2 + 1 }

    public func validate() throws(DenoiseError) {
        guard nFFT >= 16, nFFT <= 65536, nFFT % 2 == 0 else {
            throw .invalidParameter("n-fft must be an even number from 16 to 65536 (got \(nFFT))")
        }
        guard hop >= 1, hop <= nFFT / 2 else {
            throw .invalidParameter("hop must be between 1 and n-fft/2 = \(nFFT / 2) (got \(hop))")
        }
    }

    /// Zeros placed before the signal so that every sample, the first included, is covered by
    /// the same number of frames (the steady state of the overlap-add): nFFT − hop.
    public var leadingPadding: Int { nFFT - hop }

    /// Frames needed to cover `samples` samples: frame t spans samples [t·hop − (nFFT − hop), t·hop + hop).
    public func frameCount(samples: Int) -> Int {
        samples <= 0 ? 0 : (samples - 1 + leadingPadding) / hop + 1
    }
}

/// A complex spectrogram in split form, each part [bins × frames] column-major.
public struct ComplexSpectrogram: Sendable {
    public var real: Matrix
    public var imag: Matrix

    /// |X|^exponent element-wise (exponent 1: magnitude, 2: power).
    public func magnitude(exponent: Float = 1) -> Matrix {
        var m = Matrix(rows: real.rows, cols: real.cols)
        real.storage.withUnsafeBufferPointer { re in
            imag.storage.withUnsafeBufferPointer { im in
                m.storage.withUnsafeMutableBufferPointer { out in
                    spectralMagnitude(re: re.baseAddress!, im: im.baseAddress!, count: out.count,
                                      exponent: exponent, into: out.baseAddress!)
                }
            }
        }
        return m
    }
}

/// |re + i·im|^exponent for `count` values.
func spectralMagnitude(re: UnsafePointer<Float>, im: UnsafePointer<Float>, count: Int, exponent: Float,
                       into out: UnsafeMutablePointer<Float>) {
    switch exponent {
    case 1: for i in 0..<count { out[i] = (re[i] * re[i] + im[i] * im[i]).squareRoot() }
    case 2: for i in 0..<count { out[i] = re[i] * re[i] + im[i] * im[i] }
    default:
        let e = exponent / 2
        for i in 0..<count { out[i] = powf(re[i] * re[i] + im[i] * im[i], e) }
    }
}

/// FFTW's planner is not thread-safe; plans are made under this lock, then executed freely.
private let plannerLock = NSLock()

/// Short-time Fourier transform with a periodic Hann window and weighted overlap-add inverse.
///
/// Analysis windows each frame with w; synthesis windows the inverse FFT with w again and divides
/// by Σw² of the overlapping frames, so `inverse(forward(x)) == x` to float precision. The signal is
/// preceded by nFFT − hop zeros (see `STFTConfiguration.leadingPadding`), which puts every sample
/// in the overlap-add's steady state: the normalization is a fixed pattern with period hop, and
/// frames can be processed in blocks (or streamed) with the exact same result.
///
/// An instance holds the windows and the FFTW plans (made once) and nothing that changes: it is
/// shared by any number of threads, each transforming through `Buffers` of its own (FFTW's
/// new-array execute is thread-safe, and buffers from `fftwf_malloc` have the planning arrays'
/// alignment, so every thread's transform is the same computation).
public final class STFT: @unchecked Sendable {
    public let configuration: STFTConfiguration
    public var nFFT: Int { configuration.nFFT }
    public var hop: Int { configuration.hop }
    public var bins: Int { configuration.bins }

    /// The periodic Hann window, w[n] = sin²(πn/N).
    public let window: [Float]
    /// w[i] / (nFFT · Σ_j w²[(i mod hop) + j·hop]): synthesis window, steady-state overlap-add
    /// normalization and FFTW's missing 1/n in one factor. Frame sample i lands at padded position
    /// t·hop + i, whose phase in the hop-periodic normalization is i mod hop.
    let synthesisWindow: [Float]

    /// The arrays the plans were made on (never transformed in).
    private let planning: Buffers
    private let forwardPlan: fftwf_plan
    private let inversePlan: fftwf_plan

    /// One frame's FFT input and output: a thread's scratch for `analyze` and `synthesize`.
    final class Buffers {
        let time: UnsafeMutablePointer<Float>
        let freq: UnsafeMutablePointer<fftwf_complex>

        init(nFFT n: Int) {
            time = fftwf_malloc(n * MemoryLayout<Float>.stride)!.bindMemory(to: Float.self, capacity: n)
            freq = fftwf_malloc((n / 2 + 1) * MemoryLayout<fftwf_complex>.stride)!.bindMemory(to: fftwf_complex.self, capacity: n / 2 + 1)
        }

        deinit {
            fftwf_free(time)
            fftwf_free(freq)
        }
    }

    func makeBuffers() -> Buffers { Buffers(nFFT: nFFT) }

    public init(_ configuration: STFTConfiguration) throws(DenoiseError) {
        try configuration.validate()
        self.configuration = configuration
        let n = configuration.nFFT, hop = configuration.hop
        let window = (0..<n).map { i in
            let s = sin(Double.pi * Double(i) / Double(n))
            return Float(s * s)
        }
        self.window = window
        var power = [Float](repeating: 0, count: hop)
        for r in 0..<hop {
            var s: Double = 0
            var j = r
            while j < n { s += Double(window[j]) * Double(window[j]); j += hop }
            power[r] = Float(1 / s)
        }
        synthesisWindow = (0..<n).map { i in window[i] * power[i % hop] / Float(n) }
        planning = Buffers(nFFT: n)
        plannerLock.lock()
        forwardPlan = fftwf_plan_dft_r2c_1d(Int32(n), planning.time, planning.freq, UInt32(FFTW_ESTIMATE))
        inversePlan = fftwf_plan_dft_c2r_1d(Int32(n), planning.freq, planning.time, UInt32(FFTW_ESTIMATE))
        plannerLock.unlock()
    }

    deinit {
        plannerLock.lock()
        fftwf_destroy_plan(forwardPlan)
        fftwf_destroy_plan(inversePlan)
        plannerLock.unlock()
    }

    /// Transforms frames `first ..< first + count` of `signal` (see `STFTConfiguration.frameCount`),
    /// writing column j of `re`/`im` (leading dimension `bins`) for frame `first + j`. `signal[0]` is
    /// the signal's sample `origin` (a stream's window onto the signal); samples past its end are zeros.
    func analyze(_ signal: UnsafeBufferPointer<Float>, origin: Int = 0, firstFrame first: Int, count: Int,
                 re: UnsafeMutablePointer<Float>, im: UnsafeMutablePointer<Float>, buffers: Buffers) {
        let n = nFFT, bins = self.bins, pad = configuration.leadingPadding
        let timeBuffer = buffers.time, freqBuffer = buffers.freq
        window.withUnsafeBufferPointer { w in
            for j in 0..<count {
                let start = (first + j) * hop - pad - origin
                // Copy the part of the frame inside the signal; zeros elsewhere.
                let lo = max(0, -start), hi = min(n, signal.count - start)
                if lo > 0 { timeBuffer.update(repeating: 0, count: lo) }
                if hi < n { (timeBuffer + max(hi, 0)).update(repeating: 0, count: n - max(hi, 0)) }
                if hi > lo {
                    for i in lo..<hi { timeBuffer[i] = signal[start + i] * w[i] }
                }
                fftwf_execute_dft_r2c(forwardPlan, timeBuffer, freqBuffer)
                let r = re + j * bins, m = im + j * bins
                UnsafeMutableRawPointer(freqBuffer).withMemoryRebound(to: Float.self, capacity: 2 * bins) { c in
                    for k in 0..<bins { r[k] = c[2 * k]; m[k] = c[2 * k + 1] }
                }
            }
        }
    }

    /// Inverse-transforms `count` frames and overlap-adds them, windowed and normalized, into
    /// `output` (the signal's samples from sample `origin` on, frame `first + j` from column j).
    /// Samples outside `output` are dropped; `output` must start zeroed where no earlier frame has been added.
    func synthesize(re: UnsafePointer<Float>, im: UnsafePointer<Float>, firstFrame first: Int, count: Int,
                    into output: UnsafeMutableBufferPointer<Float>, origin: Int = 0, buffers: Buffers) {
        let n = nFFT, bins = self.bins, pad = configuration.leadingPadding
        let timeBuffer = buffers.time, freqBuffer = buffers.freq
        synthesisWindow.withUnsafeBufferPointer { w in
                for j in 0..<count {
                    let r = re + j * bins, m = im + j * bins
                    UnsafeMutableRawPointer(freqBuffer).withMemoryRebound(to: Float.self, capacity: 2 * bins) { c in
                        for k in 0..<bins { c[2 * k] = r[k]; c[2 * k + 1] = m[k] }
                    }
                    fftwf_execute_dft_c2r(inversePlan, freqBuffer, timeBuffer)
                    let start = (first + j) * hop - pad - origin
                    let lo = max(0, -start), hi = min(n, output.count - start)
                    guard hi > lo else { continue }
                    for i in lo..<hi { output[start + i] += timeBuffer[i] * w[i] }
                }
        }
    }

    /// The STFT of a whole signal: [bins × frameCount(samples:)].
    public func forward(_ signal: [Float]) -> ComplexSpectrogram {
        let frames = configuration.frameCount(samples: signal.count), buffers = makeBuffers()
        var re = Matrix(rows: bins, cols: frames), im = Matrix(rows: bins, cols: frames)
        signal.withUnsafeBufferPointer { x in
            re.storage.withUnsafeMutableBufferPointer { pr in
                im.storage.withUnsafeMutableBufferPointer { pi in
                    if frames > 0 { analyze(x, firstFrame: 0, count: frames, re: pr.baseAddress!, im: pi.baseAddress!, buffers: buffers) }
                }
            }
        }
        return ComplexSpectrogram(real: re, imag: im)
    }

    /// The signal of `length` samples whose STFT is closest to `spectrogram` (weighted overlap-add).
    public func inverse(_ spectrogram: ComplexSpectrogram, length: Int) -> [Float] {
        precondition(spectrogram.real.rows == bins, "spectrogram has \(spectrogram.real.rows) bins, expected \(bins)")
        var out = [Float](repeating: 0, count: length)
        let buffers = makeBuffers()
        spectrogram.real.storage.withUnsafeBufferPointer { pr in
            spectrogram.imag.storage.withUnsafeBufferPointer { pi in
                out.withUnsafeMutableBufferPointer { o in
                    if spectrogram.real.cols > 0 {
                        synthesize(re: pr.baseAddress!, im: pi.baseAddress!, firstFrame: 0,
                                   count: spectrogram.real.cols, into: o, buffers: buffers)
                    }
                }
            }
        }
        return out
    }
}

/// The spectrum of real frames of one length (FFTW, plan made once): for code that needs other
/// frames than `STFT`'s, such as the STOI measure. Not safe to share between threads.
final class RealFFT {
    let size: Int
    var bins: Int { size / 2 + 1 }
    private let input: UnsafeMutablePointer<Float>
    private let output: UnsafeMutablePointer<fftwf_complex>
    private let plan: fftwf_plan

    init(size: Int) {
        self.size = size
        input = fftwf_malloc(size * MemoryLayout<Float>.stride)!.bindMemory(to: Float.self, capacity: size)
        output = fftwf_malloc((size / 2 + 1) * MemoryLayout<fftwf_complex>.stride)!.bindMemory(to: fftwf_complex.self, capacity: size / 2 + 1)
        plannerLock.lock()
        plan = fftwf_plan_dft_r2c_1d(Int32(size), input, output, UInt32(FFTW_ESTIMATE))
        plannerLock.unlock()
    }

    deinit {
        plannerLock.lock()
        fftwf_destroy_plan(plan)
        plannerLock.unlock()
        fftwf_free(input)
        fftwf_free(output)
    }

    /// |FFT(frame zero-padded to size)|² into `power` [bins].
    func powerSpectrum(_ frame: UnsafeBufferPointer<Float>, into power: UnsafeMutablePointer<Double>) {
        let n = min(frame.count, size)
        for i in 0..<n { input[i] = frame[i] }
        if n < size { (input + n).update(repeating: 0, count: size - n) }
        fftwf_execute(plan)
        UnsafeMutableRawPointer(output).withMemoryRebound(to: Float.self, capacity: 2 * bins) { c in
            for k in 0..<bins { power[k] = Double(c[2 * k]) * Double(c[2 * k]) + Double(c[2 * k + 1]) * Double(c[2 * k + 1]) }
        }
    }
}
