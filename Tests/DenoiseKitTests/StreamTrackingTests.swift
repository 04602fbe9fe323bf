import Foundation
import Testing
@testable import DenoiseKit

/// Streams cannot measure the recording beforehand: their steady floor and pause gate follow it
/// as it goes (`Denoiser.tracking()`).
@Suite struct StreamTrackingTests {
    static let bins = 8

    /// The noise share the tracker adds to each of `frames` frames of speech estimate `s(t)` (every bin alike).
    static func added(_ s: (Int) -> Float, frames: Int, frameRate: Double = 62.5) -> [Float] {
        var tracker = SteadyNoise.Tracker(bins: bins, frameRate: frameRate)
        return (0..<frames).map { t in
            let speech = [Float](repeating: s(t), count: bins)
            var noise = [Float](repeating: 0, count: bins)
            tracker.add(speech: speech, to: &noise)
            return noise[0]
        }
    }

    @Test func theFloorFollowsTheMinimumAndForgetsASilentStart() {
        let window = Int(SteadyNoise.trackedWindowSeconds * 62.5)
        // Steady: all of S is floor, so it all counts as noise (never more than S itself).
        let steady = Self.added({ _ in 0.5 }, frames: 300)
        #expect(steady.allSatisfy { abs($0 - 0.5) < 1e-6 }, "\(steady.prefix(5))")
        // Speech over a floor of 0.1 (bursts of 1 with a gap of 10 frames in every 30): what counts
        // as noise in the speech frames is weight × the smoothed minimum, near 0.1 · weight, not
        // the speech level.
        let bursts = Self.added({ $0 % 30 < 10 ? 0.1 : 1 }, frames: 400)
        let loud = (2 * window..<400).filter { $0 % 30 >= 10 }.map { bursts[$0] }
        let weight = SteadyNoise.trackedWeight
        #expect(loud.allSatisfy { $0 > 0.1 * weight * 0.9 && $0 < 0.1 * weight * 1.5 }, "\(loud.min()!) … \(loud.max()!)")
        // Digital silence for the first second, then steady noise: a window later the floor has forgotten the silence.
        let silentStart = Self.added({ $0 < 62 ? 1e-12 : 0.5 }, frames: 62 + window + 40)
        #expect(silentStart[62 + window / 2] < 0.01, "the minimum still holds the silence half a window on")
        #expect(abs(silentStart.last! - 0.5) < 1e-3, "\(silentStart.last!)")
    }

    @Test func theGateFollowsTheLoudSpeechAndOpensAtTheStart() throws {
        let gate = PauseGate.tracking(nFFT: PauseGateTests.nFFT, sampleRate: PauseGateTests.rate)
        #expect(gate.tracksReference)
        // A frame's speech band energy equal to its level: loud frames at 0 dB, pauses at −40 dB.
        let count = Float(gate.bins.count)
        func gains(_ levels: [Float]) -> [Float] {
            let rows = PauseGateTests.rows
            var re = levels.flatMap { [Float](repeating: powf(10, $0 / 20), count: rows) }
            var im = [Float](repeating: 0, count: re.count)
            let input = levels.map { count * powf(10, ($0 + 20) / 10) }   // the mask kept −20 dB
            let speech = levels.map { count * powf(10, $0 / 10) }
            var state = PauseGate.State()
            input.withUnsafeBufferPointer { i in speech.withUnsafeBufferPointer { s in
                gate.apply(re: &re, im: &im, rows: rows, frames: levels.count, input: i.baseAddress!, speech: s.baseAddress!, state: &state)
            }}
            return levels.indices.map { re[$0 * rows] / powf(10, levels[$0] / 20) }
        }
        // Pauses before any speech: nothing to compare them with, the gate stays open.
        #expect(gains(Array(repeating: -40, count: 100)).allSatisfy { $0 == 1 })
        // After loud speech the pauses are turned down to the floor…
        let g = gains(Array(repeating: 0, count: 50) + Array(repeating: -40, count: 60))
        #expect(abs(g.last! - PauseGate.floorGain) < 1e-4, "\(g.last!)")
        // …until the loud speech is long gone: the reference falls by `trackedFall` dB a frame, and
        // once it is less than 30 dB + the ramp's 6 dB over the pause, the gate opens again.
        let frames = Int(((40 - PauseGate.closedBelow + PauseGate.ramp) / PauseGate.trackedFall).rounded(.up))
        let opened = gains(Array(repeating: 0, count: 50) + Array(repeating: -40, count: frames + 20))
        #expect(opened.last! == 1, "\(opened.suffix(3))")
        #expect(opened[50 + frames - 40] < 1, "open \(frames - 40) frames into the pause: the reference fell faster than it says")
    }

    /// A floor is measured (files) or tracked (streams), never both at once.
    @Test func aMeasuredAndATrackedFloorTogetherAreRefused() throws {
        let (speech, white) = DenoiserTests.dictionaries
        let floor = [Float](repeating: 0.1, count: speech.bins)
        #expect(throws: DenoiseError.self) { try Denoiser(speech: speech, noise: [white], steadyNoise: floor, tracksSteadyNoise: true) }
        #expect(try Denoiser(speech: speech, noise: [white], tracksSteadyNoise: true).tracksSteadyNoise)
        let tracking = try Denoiser(speech: speech, noise: [white]).tracking(steadyFloor: false, pauseGate: true)
        #expect(!tracking.tracksSteadyNoise && tracking.pauseGate?.tracksReference == true)
    }

    /// A stream of speech in steady hiss: the tracked floor and gate take the pauses down as the
    /// measured ones do, leave the speech as it was, and the output does not depend on how the
    /// input was chunked (but for float rounding).
    @Test func aTrackingStreamQuietsThePausesWhateverTheChunks() throws {
        let (speech, white) = DenoiserTests.dictionaries
        let plain = try Denoiser(speech: speech, noise: [white], options: DenoiserOptions(iterations: 30, threads: 1, bands: 0))
        let tracking = try plain.tracking()
        #expect(tracking.tracksSteadyNoise && tracking.pauseGate?.tracksReference == true)
        let clean = DenoiserTests.voiced(seconds: 6, seed: 81)
        let noisy = zip(clean, SteadyNoiseTests.drone(count: clean.count)).map { $0 * 4 + $1 }
        let before = plain.denoise(noisy), after = tracking.denoise(noisy)
        func energy(_ x: [Float], _ keep: (Int) -> Bool) -> Double { x.indices.reduce(0.0) { keep($1) ? $0 + Double(x[$1] * x[$1]) : $0 } }
        let window = 1200
        var silent = [Bool](repeating: false, count: clean.count)
        for i in (clean.count / 3)..<(clean.count - window / 3) where clean[(i - window)...(i + window / 3)].allSatisfy({ $0 == 0 }) { silent[i] = true }
        #expect(silent.contains(true))
        let pauseBefore = energy(before) { silent[$0] }, pauseAfter = energy(after) { silent[$0] }
        #expect(pauseAfter < pauseBefore / 10, "pauses: \(pauseBefore) → \(pauseAfter)")
        let speechBefore = snrDB(reference: clean.map { Double($0 * 4) }, estimate: before.map(Double.init))
        let speechAfter = snrDB(reference: clean.map { Double($0 * 4) }, estimate: after.map(Double.init))
        #expect(speechAfter > speechBefore, "SNR \(speechBefore) → \(speechAfter) dB")

        let stream = DenoiserStream(tracking)
        var chunked: [Float] = []
        var start = 0, size = 37
        while start < noisy.count {
            let end = min(start + size, noisy.count)
            chunked += noisy[start..<end].withUnsafeBufferPointer { stream.push($0) }
            start = end
            size = size * 7 % 3001 + 1
        }
        chunked += stream.finish()
        #expect(chunked.count == after.count)
        let error = zip(chunked, after).reduce(0.0) { $0 + Double(($1.0 - $1.1) * ($1.0 - $1.1)) }
        let total = after.reduce(0.0) { $0 + Double($1 * $1) }
        #expect(10 * log10(error / total + 1e-30) < -80, "chunked against whole: \(error) of \(total)")
    }
}
