import Foundation
import Testing
@testable import DenoiseKit

@Suite struct SpectralTests {
    static let configurations = [(1024, 256), (1024, 512), (512, 128), (2048, 512), (400, 160), (256, 100), (16, 8)]

    @Test(arguments: configurations)
    func inverseOfForwardReproducesTheSignal(nFFT: Int, hop: Int) throws {
        let stft = try STFT(STFTConfiguration(nFFT: nFFT, hop: hop))
        for length in [1, nFFT / 2, nFFT + 1, 20_000 + hop / 3] {
            let x = randomSignal(count: length, seed: UInt64(length))
            let y = stft.inverse(stft.forward(x), length: length)
            let snr = snrDB(reference: x.map(Double.init), estimate: y.map(Double.init))
            #expect(snr > 120, "n-fft \(nFFT), hop \(hop), length \(length): SNR \(snr) dB")
        }
    }

    @Test func frameCountCoversEverySampleInSteadyState() {
        let c = STFTConfiguration(nFFT: 1024, hop: 256)
        #expect(c.frameCount(samples: 0) == 0)
        #expect(c.frameCount(samples: 1) == 4)   // the first sample lies in 4 frames, as every sample does
        #expect(c.frameCount(samples: 256) == 4)
        #expect(c.frameCount(samples: 257) == 5)
    }

    @Test func forwardTransformMatchesNaiveDFT() throws {
        let n = 64, hop = 16
        let stft = try STFT(STFTConfiguration(nFFT: n, hop: hop))
        let x = randomSignal(count: 300, seed: 9)
        let spec = stft.forward(x)
        for t in [3, 7, spec.real.cols - 1] {
            // Frame t covers samples t·hop − (n − hop) ..< t·hop + hop, zeros outside the signal.
            let start = t * hop - (n - hop)
            let frame = (0..<n).map { i -> Double in
                let j = start + i
                return j >= 0 && j < x.count ? Double(x[j]) * Double(stft.window[i]) : 0
            }
            let reference = naiveDFT(frame)
            let fast = (0...(n / 2)).map { (Double(spec.real[$0, t]), Double(spec.imag[$0, t])) }
            let snr = snrDB(reference: reference.flatMap { [$0.re, $0.im] }, estimate: fast.flatMap { [$0.0, $0.1] })
            #expect(snr > 100, "frame \(t): SNR \(snr) dB")
        }
    }

    @Test func windowIsPeriodicHann() throws {
        let stft = try STFT(STFTConfiguration(nFFT: 16, hop: 4))
        #expect(stft.window.count == 16)
        for (i, w) in stft.window.enumerated() {
            #expect(abs(Double(w) - (0.5 - 0.5 * cos(2 * Double.pi * Double(i) / 16))) < 1e-6)
        }
    }

    @Test(arguments: [(1023, 256), (1024, 513), (1024, 0), (8, 4)])
    func rejectsUnsupportedConfigurations(nFFT: Int, hop: Int) {
        #expect(throws: DenoiseError.self) { try STFTConfiguration(nFFT: nFFT, hop: hop).validate() }
    }

    /// Bands tile the bins in order, keep single bins at low frequencies, and pooling is linear:
    /// pool(W·H) = pool(W)·H, so solving on bands fits the same model.
    @Test func frequencyBandsTileTheBinsAndPoolLinearly() {
        let bands = FrequencyBands(bins: 513, bands: 128, sampleRate: 16000)
        #expect(bands.edges.first == 0 && bands.edges.last == 513 && bands.count <= 128 && bands.count > 100)
        #expect(zip(bands.edges, bands.edges.dropFirst()).allSatisfy { $0 < $1 })
        #expect(bands.edges[1] == 1 && bands.edges[15] == 15)  // 16 Hz bins below ~250 Hz stay single
        let w = Matrix(rows: 513, cols: 5, storage: randomSignal(count: 513 * 5, seed: 1).map(abs))
        let h = Matrix(rows: 5, cols: 7, storage: randomSignal(count: 35, seed: 2).map(abs))
        let a = bands.pool(Matrix.product(w, h)), b = Matrix.product(bands.pool(w), h)
        #expect(zip(a.storage, b.storage).allSatisfy { abs($0 - $1) <= 1e-4 * max(abs($0), 1) })
    }
}
