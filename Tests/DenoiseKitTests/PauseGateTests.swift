import Foundation
import Testing
@testable import DenoiseKit

/// The pause gate turns down cleaned frames far below the recording's loud speech, opens at once on
/// speech, holds and releases as its constants say, and measures the loud speech on the spectra's scale.
@Suite struct PauseGateTests {
    static let rate = DenoiserTests.rate, nFFT = DenoiserTests.stft.nFFT, rows = nFFT / 2 + 1

    /// Frames of flat spectra at `levels` dB (re = amplitude in every bin, im = 0), of which the
    /// mask kept `kept` dB of the input's energy, gated in the chunks `split` gives; returns each
    /// frame's gain.
    static func gains(_ gate: PauseGate, levels: [Float], kept: Float = -20, split: [Int]) -> [Float] {
        var re = levels.flatMap { [Float](repeating: powf(10, $0 / 20), count: rows) }
        var im = [Float](repeating: 0, count: re.count)
        let input = levels.map { Float(gate.bins.count) * powf(10, ($0 - kept) / 10) }
        var state = PauseGate.State(), start = 0
        input.withUnsafeBufferPointer { inp in
            for n in split + [levels.count - split.reduce(0, +)] {
                re.withUnsafeMutableBufferPointer { r in
                    im.withUnsafeMutableBufferPointer { i in
                        gate.apply(re: r.baseAddress! + start * rows, im: i.baseAddress! + start * rows, rows: rows, frames: n,
                                   input: inp.baseAddress! + start, state: &state)
                    }
                }
                start += n
            }
        }
        return levels.indices.map { re[$0 * rows] / powf(10, levels[$0] / 20) }
    }

    @Test func gainsFollowLevelHoldAndRelease() throws {
        // Loud speech at 0 dB: the band's energy of a flat spectrum of amplitude 1.
        let probe = try PauseGate(reference: 1, nFFT: Self.nFFT, sampleRate: Self.rate)
        let gate = try PauseGate(reference: Float(probe.bins.count), nFFT: Self.nFFT, sampleRate: Self.rate)
        let levels: [Float] = [0] + Array(repeating: -40, count: 14) + [-27, -10, -40]
        let g = Self.gains(gate, levels: levels, split: [])
        func close(_ a: Float, _ b: Float) -> Bool { abs(a - b) < 1e-4 }
        #expect(g[0] == 1)
        #expect(g[1...6].allSatisfy { $0 == 1 }, "held for 6 frames: \(g)")
        let floor = PauseGate.floorGain
        for k in 1...8 {   // then released by 0.7 a frame
            #expect(close(g[6 + k], floor + (1 - floor) * powf(PauseGate.release, Float(k))), "frame \(6 + k): \(g[6 + k])")
        }
        // 27 dB down is halfway up the ramp from 30 dB; a frame at speech level is never turned down.
        #expect(close(g[15], floor + (1 - floor) * 0.5), "\(g[15])")
        #expect(g[16] == 1 && g[17] == 1)
        // The state carries across blocks: any chunking gives the same gains.
        #expect(Self.gains(gate, levels: levels, split: [3, 5, 1]) == g)
        // Quiet frames the mask kept most of (quiet speech, not a pause's residue) are left alone;
        // halfway up the share's ramp, halfway open.
        #expect(Self.gains(gate, levels: levels, kept: PauseGate.keptOpen + 1, split: []).allSatisfy { $0 == 1 })
        let half = Self.gains(gate, levels: Array(repeating: -40, count: 20), kept: (PauseGate.keptClosed + PauseGate.keptOpen) / 2, split: [])
        #expect(close(half.last!, floor + (1 - floor) * 0.5), "\(half)")
        // A low-SNR pause: the mask took only 8 dB of the residue (the speech atoms explain the
        // noise in its loudest bins), yet the frame is far under the speech: closed to the floor.
        let lowSNRPause = Self.gains(gate, levels: Array(repeating: -40, count: 60), kept: -8, split: [])
        #expect(close(lowSNRPause.last!, floor) && floor <= 0.03, "\(lowSNRPause)")
        #expect(throws: DenoiseError.self) { try PauseGate(reference: 0, nFFT: Self.nFFT, sampleRate: Self.rate) }
    }

    /// A second talker 38 dB under the first (far from the microphone) is speech the mask keeps: the
    /// gate leaves it as it was, though it is far under the loud speech.
    @Test func aQuietTalkerIsKept() throws {
        let (speech, white) = DenoiserTests.dictionaries
        let plain = try Denoiser(speech: speech, noise: [white], options: DenoiserOptions(iterations: 30, threads: 1, bands: 0))
        let loud = DenoiserTests.voiced(seconds: 4, seed: 91), quiet = DenoiserTests.voiced(seconds: 4, seed: 92).map { $0 * powf(10, -38 / 20) }
        let hiss = randomSignal(count: loud.count + quiet.count, seed: 93, amplitude: 2e-5)
        let input = zip(loud + quiet, hiss).map { $0 + $1 }
        let gate = try #require(PauseGate.measured(on: plain.speechEstimate(ofBeginning: input), denoiser: plain))
        let before = plain.denoise(input), after = try plain.withPauseGate(gate).denoise(input)
        func energy(_ x: [Float]) -> Double { x[loud.count...].reduce(0.0) { $0 + Double($1 * $1) } }
        let change = 10 * log10(energy(after) / energy(before))
        #expect(change > -1, "the quiet talker's output changed by \(change) dB")
    }

    /// Speech at a level, pauses with a little noise: the measured reference is the level of the
    /// loud speech frames (whatever scale the mask bases have), and cleaning with the gate makes
    /// the pauses quieter and leaves the speech as it was.
    @Test(arguments: [false, true])
    func theGateMeasuresTheSpeechAndQuietsThePauses(maskBases: Bool) throws {
        let (speech, white) = DenoiserTests.dictionaries
        var noise = white
        let run = DenoiserOptions(iterations: 30, threads: 1, bands: 0)
        if maskBases {
            (noise, _) = try DiscriminativeTrainer.train(speech: speech, noise: white, mixtures: DiscriminativeTests.mixtures(seed: 4, count: 8),
                                                         options: DiscriminativeOptions(iterations: 10, run: run, context: MaskContext(past: 2, future: 2)))
        }
        let plain = try Denoiser(speech: speech, noise: [noise], options: run)
        #expect(plain.usesMaskBases == maskBases)
        let clean = DenoiserTests.voiced(seconds: 6, seed: 81)
        let hiss = randomSignal(count: clean.count, seed: 82, amplitude: 0.003)
        let noisy = zip(clean, hiss).map { $0 + $1 }
        let gate = try #require(PauseGate.measured(on: plain.speechEstimate(ofBeginning: noisy), denoiser: plain))

        // The clean speech's own 95th-percentile band energy.
        let spectrum = plain.stft.forward(clean).magnitude(exponent: 2)
        var energies = (0..<spectrum.cols).map { t in gate.bins.reduce(Float(0)) { $0 + spectrum.storage[t * spectrum.rows + $1] } }
        let loud = energies.select(Int(Double(energies.count) * 0.95))
        let off = 10 * log10(gate.reference / loud)
        #expect(abs(off) < 4, "reference \(off) dB from the loud speech")

        let gated = try plain.withPauseGate(gate)
        let before = plain.denoise(noisy), after = gated.denoise(noisy)
        // Pauses: where the clean signal has been silent for 150 ms (the gate's hold and release have
        // passed) and stays so for 50 ms (the next onset's frames, opened at once, reach back that far).
        func energy(_ x: [Float], _ keep: (Int) -> Bool) -> Double { x.indices.reduce(0.0) { keep($1) ? $0 + Double(x[$1] * x[$1]) : $0 } }
        let window = 1200
        var silent = [Bool](repeating: false, count: clean.count)
        for i in window..<(clean.count - window / 3) where clean[(i - window)...(i + window / 3)].allSatisfy({ $0 == 0 }) { silent[i] = true }
        let pauseBefore = energy(before) { silent[$0] }, pauseAfter = energy(after) { silent[$0] }
        #expect(pauseAfter < pauseBefore / 10, "pauses: \(pauseBefore) → \(pauseAfter)")
        let speechBefore = snrDB(reference: clean.map(Double.init), estimate: before.map(Double.init))
        let speechAfter = snrDB(reference: clean.map(Double.init), estimate: after.map(Double.init))
        #expect(speechAfter > speechBefore - 0.2, "SNR \(speechBefore) → \(speechAfter) dB")
    }
}
