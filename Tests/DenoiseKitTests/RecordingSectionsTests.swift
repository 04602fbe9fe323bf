import Foundation
import Testing
@testable import DenoiseKit

/// A long recording fitted and cleaned section by section (`RecordingSections`,
/// `Denoiser.cleanFile(_:to:removedTo:sections:fitSeconds:fit:progress:)`).
@Suite struct RecordingSectionsTests {
    @Test(arguments: [(1_000_003, 8000, 30.0), (480_000, 16000, 10.0), (12_345, 8000, 1.0), (999, 8000, 30.0)])
    func theWeightsOfEveryFrameSumToOne(frames: Int, rate: Int, seconds: Double) {
        let plan = RecordingSections(frames: frames, sampleRate: rate, seconds: seconds)
        #expect(plan.count == max(Int((Double(frames) / (seconds * Double(rate))).rounded(.up)), 1))
        #expect(plan.edges.first == 0 && plan.edges.last == frames)
        for i in 0..<plan.count {
            #expect(plan.cleaned(i).lowerBound <= plan.support(i).lowerBound && plan.support(i).upperBound <= plan.cleaned(i).upperBound)
        }
        var worst: Float = 0, outside = 0
        for f in stride(from: 0, to: frames + 100, by: 7) {
            var sum: Float = 0
            for i in 0..<plan.count {
                let w = plan.weight(i, at: f)
                if w != 0, !plan.support(i).contains(f) { outside += 1 }
                sum += w
            }
            worst = max(worst, abs(sum - 1))
        }
        #expect(worst < 1e-6 && outside == 0)
    }

    @Test func noLimitIsOneSection() {
        #expect(RecordingSections(frames: 1 << 40, sampleRate: 48000, seconds: .infinity).count == 1)
    }

    /// With the same model for every section, the joins must not show: the sections' output equals
    /// the whole file's cleaning (each frame's activations depend on that frame alone), for a mono
    /// file at the model's rate and a stereo one at another rate, and the removed part is input − output.
    @Test(arguments: [(8000, 1), (12000, 2)])
    func theSameModelInEverySectionGivesTheWholeFilesOutput(rate: Int, channels: Int) throws {
        let denoiser = DenoiserTests.makeDenoiser()
        let dir = temporaryDirectory()
        let seconds = 25.0
        let mono = zip(try Resampler.resample(DenoiserTests.voiced(seconds: seconds, seed: 90), from: DenoiserTests.rate, to: rate),
                       randomSignal(count: Int(seconds * Double(rate)), seed: 91, amplitude: 0.05)).map { $0 + $1 }
        let input = dir.appendingPathComponent("long.wav").path
        try AudioFile.write(AudioBuffer(sampleRate: rate, channels: (0..<channels).map { c in mono.map { $0 * (1 - 0.3 * Float(c)) } }), to: input)
        let whole = dir.appendingPathComponent("whole.wav").path
        try denoiser.cleanFile(input, to: whole)
        let sectioned = dir.appendingPathComponent("sections.wav").path, removed = dir.appendingPathComponent("removed.wav").path
        var fitted: [(frames: Int, isWhole: Bool)] = []
        let (report, count) = try denoiser.cleanFile(input, to: sectioned, removedTo: removed, sections: 7, fitSeconds: 60, fit: {
            fitted.append(($0.count, $1)); return (denoiser, nil)
        })
        #expect(count == 4 && fitted.count == 4 && report.frameCount == mono.count && report.channelCount == channels)
        // Each section is fitted on the frames it is cleaned over, not on the next sections' too.
        let plan = RecordingSections(frames: mono.count, sampleRate: rate, seconds: 7, modelRate: denoiser.sampleRate, hop: 64)
        for (i, fit) in fitted.enumerated() {
            let range = plan.cleaned(i), frames = min(range.upperBound, mono.count) - range.lowerBound
            #expect(fit.isWhole && abs(fit.frames - frames * denoiser.sampleRate / rate) <= 1, "section \(i): fitted on \(fit.frames) samples")
        }
        let (a, _) = try AudioFile.read(whole), (b, _) = try AudioFile.read(sectioned), (r, _) = try AudioFile.read(removed), (x, _) = try AudioFile.read(input)
        for c in 0..<channels {
            #expect(b.channels[c].count == mono.count)
            let difference = zip(a.channels[c], b.channels[c]).map { abs($0 - $1) }.max() ?? 1
            // Resampled, each section's conversions start and end anew (soxr's filter tails, −80 dB).
            #expect(difference < (rate == denoiser.sampleRate ? 1e-5 : 1e-4), "channel \(c): sections differ from the whole file's output by \(difference)")
            let residual = (0..<mono.count).map { abs(x.channels[c][$0] - b.channels[c][$0] - r.channels[c][$0]) }.max() ?? 1
            #expect(residual < 1e-5)
        }
    }

    /// The noise changes halfway through: one fit on the beginning learns only the first noise, a fit
    /// per section learns each, and the second half comes out cleaner.
    @Test func aSectionLearnsTheNoiseItHolds() throws {
        let (speech, white) = DenoiserTests.dictionaries
        let rate = DenoiserTests.rate, half = 20 * rate
        let clean = DenoiserTests.voiced(seconds: 40, seed: 92)
        func band(_ hz: Double, seed: UInt64) -> [Float] {   // white noise through a resonator at `hz`
            let x = randomSignal(count: half, seed: seed, amplitude: 0.02)
            let r: Float = 0.98, k = 2 * r * Float(cos(2 * Double.pi * hz / Double(rate)))
            var y = [Float](repeating: 0, count: half)
            for n in 2..<half { y[n] = x[n] + k * y[n - 1] - r * r * y[n - 2] }
            return y
        }
        let noisy = zip(clean, band(3200, seed: 93) + band(1300, seed: 94)).map { $0 + $1 }
        let dir = temporaryDirectory()
        let input = dir.appendingPathComponent("changing.wav").path
        try AudioFile.write(AudioBuffer(sampleRate: rate, mono: noisy), to: input)
        let options = DenoiserOptions(iterations: 60, threads: 1, bands: 0)
        let fit: Denoiser.Fit = { signal, _ throws(DenoiseError) in
            let learned = try NoiseAdaptation.learn(signal, speech: speech, noise: white, rank: 4, options: options)
            return (try Denoiser(speech: speech, noise: [white, learned], options: options), nil)
        }
        func secondHalfSNR(sections: Double) throws -> Double {
            let output = dir.appendingPathComponent("out-\(sections).wav").path
            try DenoiserTests.makeDenoiser().cleanFile(input, to: output, sections: sections, fitSeconds: 15, fit: fit)
            let y = try AudioFile.read(output).0.channels[0]
            return snrDB(reference: clean[half...].map(Double.init), estimate: y[half...].map(Double.init))
        }
        let once = try secondHalfSNR(sections: .infinity), each = try secondHalfSNR(sections: 20)
        #expect(each > once + 3, "second half: one fit on the beginning \(once) dB, a fit per section \(each) dB")
    }
}
